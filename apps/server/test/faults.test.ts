import type { Server } from "node:http";
import { type Database, createDb, createTestDb, markSuiteRan, migrateToLatest } from "@reachbell/db";
import { sql } from "kysely";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app";
import { isDatabaseUnavailable } from "../src/db-outage";
import { type Config, ConfigError, loadConfig, testConfig } from "../src/env";
import { createLogger } from "../src/logger";
import { projectWithKey } from "./project-fixtures";
import { deleteKeys, eventually, TEST_REDIS_URL, uniquePrefix } from "./redis-support";
import { type Account, type ApiResponse, type TestServer, call, expectEnvelope, registerAccount } from "./support";
import { TcpProxy } from "./tcp-proxy";

// Fault injection: a TCP proxy the test controls sits between the server and PostgreSQL, and
// between the server and Redis. `refuse` is a dependency that is down (connections refused and
// reset); `blackhole` is a network partition (connections accepted, nothing ever answered). Every
// request must end within a bounded time, the outage must be logged once, and everything must work
// again once the fault is cleared, without restarting the app. The bounds asserted are generous on
// purpose: they tell "bounded" from "hangs until the partition heals", nothing finer.

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

function describeIf(name: string, missing: (string | false)[], fn: () => void): void {
  const reasons = missing.filter(Boolean);
  if (reasons.length > 0) describe.skip(`${name} (skipped: ${reasons.join(", ")})`, fn);
  else describe(name, fn);
}

interface Instance extends TestServer {
  logs: string[];
  server: Server;
}

async function start(database: Database, config: Config): Promise<Instance> {
  const logs: string[] = [];
  const app: App = createApp({ database, config, logger: createLogger("info", (l) => logs.push(l)) });
  const { server, url } = await app.listen(0, "127.0.0.1");
  return {
    url,
    app,
    database,
    dialect: database.dialect,
    config,
    logs,
    server,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await app.close();
    },
  };
}

const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
};

/** Log lines (parsed) whose message contains `text`. */
const logged = (s: Instance, text: string) => s.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => String(l.msg).includes(text));

function expectUnavailable(res: ApiResponse): void {
  expectEnvelope(res, 503, /unavailable/i);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
}

describe("database connection errors are recognised in one place", () => {
  it("classifies connection failures, timeouts and pool exhaustion, not query faults", () => {
    const err = (message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), extra);
    for (const e of [
      err("connect ECONNREFUSED 127.0.0.1:5432", { code: "ECONNREFUSED" }),
      err("read ECONNRESET", { code: "ECONNRESET" }),
      err("connect ETIMEDOUT", { code: "ETIMEDOUT" }),
      err("Connection terminated unexpectedly"),
      err("Connection terminated due to connection timeout"),
      err("timeout exceeded when trying to connect"),
      err("Query read timeout"),
      err("terminating connection due to administrator command", { code: "57P01", severity: "FATAL" }),
      err("canceling statement due to statement timeout", { code: "57014", severity: "ERROR" }),
      new AggregateError([err("connect ECONNREFUSED ::1:5432", { code: "ECONNREFUSED" })], ""),
      err("wrapped", { cause: err("Connection terminated unexpectedly") }),
    ]) {
      expect(isDatabaseUnavailable(e), e.message).toBe(true);
    }
    for (const e of [
      err('duplicate key value violates unique constraint "users_email"', { code: "23505", severity: "ERROR" }),
      err("canceling statement due to user request", { code: "57014", severity: "ERROR" }),
      err("column x does not exist", { code: "42703", severity: "ERROR" }),
      err("boom"),
      undefined,
      "text",
    ]) {
      expect(isDatabaseUnavailable(e)).toBe(false);
    }
  });

  it("takes the timeouts from the environment, validated", () => {
    const base = { NODE_ENV: "test", JWT_SECRET: "j".repeat(40), ENCRYPTION_KEY: "ab".repeat(32) };
    const defaults = loadConfig(base, "/nonexistent").config;
    expect(defaults.databaseTimeouts).toEqual({ connectMs: 5000, queryMs: 10_000, pingMs: 2000 });
    expect(defaults.redisCommandTimeoutMs).toBe(500);
    const set = loadConfig({ ...base, DB_CONNECT_TIMEOUT_MS: "800", DB_QUERY_TIMEOUT_MS: "1500", DB_HEALTH_TIMEOUT_MS: "700", REDIS_COMMAND_TIMEOUT_MS: "200" }, "/nonexistent").config;
    expect(set.databaseTimeouts).toEqual({ connectMs: 800, queryMs: 1500, pingMs: 700 });
    expect(set.redisCommandTimeoutMs).toBe(200);
    for (const [name, value] of [
      ["DB_CONNECT_TIMEOUT_MS", "0"],
      ["DB_QUERY_TIMEOUT_MS", "fast"],
      ["DB_HEALTH_TIMEOUT_MS", "1.5"],
      ["REDIS_COMMAND_TIMEOUT_MS", "-1"],
    ] as const) {
      try {
        loadConfig({ ...base, [name]: value }, "/nonexistent");
        throw new Error(`${name}=${value} was accepted`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).problems.filter((p) => p.startsWith(`${name}:`))).toHaveLength(1);
      }
    }
  });
});

describeIf("PostgreSQL faults (through a TCP proxy)", [!TEST_DATABASE_URL && "TEST_DATABASE_URL is not set"], () => {
  // Short bounds so the suite stays quick; production defaults are 5 s / 10 s / 2 s.
  const databaseTimeouts = { connectMs: 1000, queryMs: 1000, pingMs: 1000 };
  let proxy: TcpProxy;
  let schema: string;
  let database: Database;
  let s: Instance;
  let owner: Account;
  let apiKey: string;
  let projectId: string;

  beforeAll(async () => {
    markSuiteRan("postgres");
    const base = TEST_DATABASE_URL!;
    schema = `t_faults_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
    const admin = createDb({ dialect: "postgres", url: base }, { poolSize: 1 });
    await sql`create schema ${sql.id(schema)}`.execute(admin.db);
    await admin.destroy();
    const direct = createDb({ dialect: "postgres", url: base }, { searchPath: schema, poolSize: 1 });
    await migrateToLatest(direct.db, "postgres");
    await direct.destroy();

    const target = new URL(base);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const config = testConfig({ databaseTimeouts });
    database = createDb({ dialect: "postgres", url: proxy.urlFor(base) }, { searchPath: schema, poolSize: 4, timeouts: config.databaseTimeouts });
    s = await start(database, config);
    owner = await registerAccount(s, "faults");
    ({ apiKey, projectId } = await projectWithKey(s, owner));
  });

  afterAll(async () => {
    await s?.close();
    await proxy?.set("pass");
    await database?.destroy();
    await proxy?.close();
    if (schema) {
      const admin = createDb({ dialect: "postgres", url: TEST_DATABASE_URL! }, { poolSize: 1 });
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db).catch(() => {});
      await admin.destroy();
    }
  });

  const me = () => call(s, "GET", "/auth/me", { token: owner.token });
  const subscribers = () => call(s, "GET", `/subscribers/project/${projectId}`, { apiKey });
  const login = () => call(s, "POST", "/auth/login", { body: { email: owner.email, password: owner.password } });
  const trpcMe = async () => {
    const res = await fetch(`${s.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${owner.token}` } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  const healthz = () => call(s, "GET", "/healthz");

  /** Everything answers again, without restarting anything, and keeps answering (no broken pooled connection left behind). */
  async function expectRecovered(): Promise<void> {
    await eventually(async () => (await healthz()).status === 200, 10_000, "/healthz to answer 200 again");
    await eventually(async () => (await me()).status === 200, 10_000, "requests to succeed again");
    for (let i = 0; i < 6; i++) {
      expect((await me()).status).toBe(200);
      expect((await subscribers()).status).toBe(200);
    }
    expect((await login()).status).toBe(200);
    expect((await trpcMe()).status).toBe(200);
  }

  it("refused connections: 503 with Retry-After on every transport, /healthz 503, logged once; recovers when it is back", async () => {
    expect((await healthz()).status).toBe(200);
    expect((await me()).status).toBe(200);
    await proxy.set("refuse");

    const health = await timed(healthz);
    expectEnvelope(health.value, 503);
    expect(health.ms).toBeLessThan(3000);
    for (const request of [me, subscribers, login, me]) {
      const { value, ms } = await timed(request);
      expectUnavailable(value);
      expect(ms).toBeLessThan(5000);
    }
    const t = await trpcMe();
    expect(t.status).toBe(503);
    expect(t.body.error.data.httpStatus).toBe(503);
    expect(t.body.error.message).toMatch(/unavailable/i);
    expect(typeof t.body.error.data.requestId).toBe("string");
    expect(Number(t.headers.get("retry-after"))).toBeGreaterThan(0);

    // One outage line (an error), not one per request; no request logged as an internal fault.
    const outage = logged(s, "database unavailable");
    expect(outage).toHaveLength(1);
    expect(outage[0]!.level).toBe("error");
    expect(logged(s, "request failed")).toHaveLength(0);

    await proxy.set("pass");
    await expectRecovered();
    await eventually(() => logged(s, "database reachable again").length === 1, 5000, "the recovery to be logged");
    expect(logged(s, "database unavailable")).toHaveLength(1);
  });

  it("a partition (blackhole): /healthz 503 within ~2 s, requests end within a bounded time with 503; recovers when it heals", async () => {
    await proxy.set("blackhole");

    const health = await timed(healthz);
    expectEnvelope(health.value, 503);
    expect(health.ms).toBeLessThan(2500);
    // Pooled connections now lead into the partition, and so do new ones: all bounded.
    const results = await Promise.all([me, subscribers, login, me, me, subscribers].map((r) => timed(r)));
    for (const { value, ms } of results) {
      expectUnavailable(value);
      expect(ms).toBeLessThan(5000);
    }
    const again = await timed(me);
    expectUnavailable(again.value);
    expect(again.ms).toBeLessThan(5000);
    expect(logged(s, "database unavailable")).toHaveLength(2); // one per outage: the refusal above, this one
    expect(logged(s, "request failed")).toHaveLength(0);

    await proxy.set("pass");
    await expectRecovered();
    await eventually(() => logged(s, "database reachable again").length === 2, 5000, "the recovery to be logged");
  });
});

describeIf("Redis faults (through a TCP proxy)", [!TEST_REDIS_URL && "TEST_REDIS_URL is not set"], () => {
  let proxy: TcpProxy;
  let database: Database;
  let s: Instance;
  const prefix = uniquePrefix("faults");
  const limits = { default: 1000, ingest: 5, auth: 100 };

  beforeAll(async () => {
    markSuiteRan("redis");
    const target = new URL(TEST_REDIS_URL!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    database = await createTestDb("sqlite");
    // A command timeout longer than the per-request bound below: a request that still waited for
    // Redis after the outage was noticed would break that bound.
    const config = testConfig({ trustProxy: 1, redisUrl: proxy.urlFor(TEST_REDIS_URL!), redisKeyPrefix: prefix, rateLimits: limits, redisCommandTimeoutMs: 1500 });
    s = await start(database, config);
  });

  afterAll(async () => {
    await s?.close();
    await proxy?.close();
    await database?.destroy();
    if (TEST_REDIS_URL) await deleteKeys(TEST_REDIS_URL, prefix);
  });

  let ipCounter = 0;
  const freshIp = () => `198.51.100.${++ipCounter}`;
  const ingest = (ip: string) => call(s, "POST", "/subscribers", { body: {}, headers: { "x-forwarded-for": ip } });
  /** The shared counter of `ip`, read from Redis directly (not through the proxy). */
  const sharedCount = async (ip: string) => {
    const direct = new Redis(TEST_REDIS_URL!, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    direct.on("error", () => {});
    try {
      return await direct.get(`${prefix}rl:ingest:${ip}`);
    } finally {
      direct.disconnect();
    }
  };

  /** During a fault: every request answered promptly, counted per process (a fresh window: 5 allowed, then 429). */
  async function expectPerProcessCounting(firstBoundMs: number): Promise<void> {
    const ip = freshIp();
    const seen: { status: number; remaining: number; ms: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const { value, ms } = await timed(() => ingest(ip));
      seen.push({ status: value.status, remaining: Number(value.headers.get("ratelimit-remaining")), ms });
    }
    expect(seen.map((x) => x.status)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(seen.map((x) => x.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(seen[0]!.ms).toBeLessThan(firstBoundMs);
    for (const x of seen.slice(1)) expect(x.ms).toBeLessThan(1000);
    expect(await sharedCount(ip)).toBeNull();
  }

  async function expectSharedAgain(reconnections: number): Promise<void> {
    await eventually(() => logged(s, "redis reconnected").length === reconnections, 15_000, "the reconnection to be logged");
    const ip = freshIp();
    expect((await ingest(ip)).status).toBe(401);
    expect((await ingest(ip)).status).toBe(401);
    expect(await sharedCount(ip)).toBe("2");
  }

  it("a partition (blackhole): after the first request notices it, requests answer at once with per-process limits; logged once; shared again when it heals", async () => {
    const before = freshIp();
    await ingest(before);
    expect(await sharedCount(before)).toBe("1");

    await proxy.set("blackhole");
    // The first request waits out the command timeout (1.5 s here), the rest do not wait at all.
    await expectPerProcessCounting(3000);
    await expectPerProcessCounting(1000);
    expect((await call(s, "GET", "/healthz")).status).toBe(200);
    await eventually(() => logged(s, "redis unreachable").length > 0, 5000, "the outage to be logged");
    const outage = logged(s, "redis unreachable");
    expect(outage).toHaveLength(1);
    expect(outage[0]!.level).toBe("error");

    await proxy.set("pass");
    await expectSharedAgain(1);
    expect(logged(s, "redis unreachable")).toHaveLength(1);
  });

  it("refused connections: per-process limits at once, logged once; shared again when it is back", async () => {
    await proxy.set("refuse");
    await expectPerProcessCounting(1000);
    await eventually(() => logged(s, "redis unreachable").length === 2, 5000, "the outage to be logged");
    await expectPerProcessCounting(1000);
    expect(logged(s, "redis unreachable")).toHaveLength(2); // one per outage

    await proxy.set("pass");
    await expectSharedAgain(2);
  });
});

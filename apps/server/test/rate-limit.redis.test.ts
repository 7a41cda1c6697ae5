import type { ChildProcess } from "node:child_process";
import type { Server } from "node:http";
import { hashApiKey } from "@reachbell/auth";
import { type Database, createTestDb, markSuiteRan } from "@reachbell/db";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { type App, createApp } from "../src/app";
import { type Config, testConfig } from "../src/env";
import { createLogger } from "../src/logger";
import { projectWithKey } from "./project-fixtures";
import { deleteKeys, describeWithRedis, eventually, freePort, startRedisServer, stopProcess, TEST_REDIS_URL, uniquePrefix } from "./redis-support";
import { type ApiResponse, type TestServer, call, expectEnvelope, registerAccount } from "./support";

// REDIS_URL in one process: counters in Redis, the fall-back to per-process counters when Redis goes
// away mid-run (no crash, no hang, logged), and recovery when it comes back. Two apps on one
// database stand in for two instances here; rate-limit.multi-instance.test.ts uses real processes.

interface Instance extends TestServer {
  logs: string[];
}

const opened: { server: Server; app: App }[] = [];
afterEach(async () => {
  for (const { server, app } of opened.splice(0)) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await app.close();
  }
});

async function instance(database: Database, overrides: Partial<Config>): Promise<Instance> {
  const logs: string[] = [];
  const config = testConfig({ trustProxy: 1, ...overrides });
  const app = createApp({ database, config, logger: createLogger("info", (l) => logs.push(l)) });
  const { server, url } = await app.listen(0, "127.0.0.1");
  opened.push({ server, app });
  return { url, app, database, dialect: database.dialect, config, logs, close: async () => {} };
}

const ingest = (server: TestServer, ip: string) => call(server, "POST", "/subscribers", { body: {}, headers: { "x-forwarded-for": ip } });
const remaining = (res: ApiResponse) => Number(res.headers.get("ratelimit-remaining"));
const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
};

/** One SQLite database shared by the suite's instances, and a Redis key prefix of its own. */
function sharedState() {
  const state = { database: undefined as unknown as Database, prefix: uniquePrefix("rl") };
  beforeAll(async () => {
    markSuiteRan("redis");
    state.database = await createTestDb("sqlite");
  });
  afterAll(async () => {
    if (TEST_REDIS_URL) await deleteKeys(TEST_REDIS_URL, state.prefix);
    await state.database?.destroy();
  });
  return state;
}

describeWithRedis("rate limits and invalidations through Redis", () => {
  const state = sharedState();

  it("shares counters and API-key revocations between two instances", async () => {
    const { database, prefix } = state;
    const limits = { default: 1000, ingest: 6, auth: 100 };
    const a = await instance(database, { redisUrl: TEST_REDIS_URL, redisKeyPrefix: prefix, rateLimits: limits });
    const b = await instance(database, { redisUrl: TEST_REDIS_URL, redisKeyPrefix: prefix, rateLimits: limits });
    const ip = "192.0.2.10";
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await ingest(i % 2 ? b : a, ip);
      expect(res.status).toBe(401);
      seen.push(remaining(res));
    }
    expect(seen).toEqual([5, 4, 3, 2, 1, 0]);
    expectEnvelope(await ingest(a, ip), 429, "Too many requests");
    expectEnvelope(await ingest(b, ip), 429, "Too many requests");

    const owner = await registerAccount(a, "bus");
    const { projectId, apiKey, keyId } = await projectWithKey(a, owner);
    const list = (s: TestServer) => call(s, "GET", `/subscribers/project/${projectId}`, { apiKey, headers: { "x-forwarded-for": "192.0.2.11" } });
    expect((await list(b)).status).toBe(200); // B now holds the key in its cache
    const revoke = await call(a, "DELETE", `/projects/${projectId}/api-keys/${keyId}`, { token: owner.token, orgId: owner.orgId });
    expect(revoke.status).toBe(200);
    expectEnvelope(await list(b), 401, "Invalid API key");
    expectEnvelope(await list(a), 401, "Invalid API key");
  });
});

describeWithRedis(
  "Redis going away",
  () => {
    const state = sharedState();

    it("keeps serving with per-process limits when Redis goes away mid-run, logs it, and shares again when it is back", async () => {
      const { database, prefix } = state;
      const port = await freePort();
      let redisServer: ChildProcess | undefined = await startRedisServer(port);
      try {
        const url = `redis://127.0.0.1:${port}`;
        const limits = { default: 1000, ingest: 5, auth: 100 };
        const app = await instance(database, { redisUrl: url, redisKeyPrefix: prefix, rateLimits: limits });
        const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on("error", () => {});
        const ip = "192.0.2.20";
        for (let i = 0; i < 3; i++) await ingest(app, ip);
        expect(await probe.get(`${prefix}rl:ingest:${ip}`)).toBe("3");
        probe.disconnect();

        // Redis dies. Every request is still answered promptly, limited, with its headers.
        await stopProcess(redisServer, "SIGKILL");
        redisServer = undefined;
        const during: { status: number; remaining: number; ms: number }[] = [];
        for (let i = 0; i < 6; i++) {
          const { value: res, ms } = await timed(() => ingest(app, ip));
          during.push({ status: res.status, remaining: remaining(res), ms });
          expect(res.headers.get("ratelimit-limit")).toBe("5");
        }
        // Per-process counting starts its own window: five allowed, then 429.
        expect(during.map((d) => d.status)).toEqual([401, 401, 401, 401, 401, 429]);
        expect(during.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
        for (const d of during) expect(d.ms).toBeLessThan(1500);
        const health = await call(app, "GET", "/healthz");
        expect(health.status).toBe(200);
        await eventually(() => app.logs.some((l) => l.includes("redis unreachable")), 5000, "the outage to be logged");
        const outage = app.logs.filter((l) => l.includes("redis unreachable"));
        expect(outage).toHaveLength(1); // once per outage, not once per retry or request
        expect(JSON.parse(outage[0]!).level).toBe("error");

        // A key revoked while the bus is down is still refused here (local cache dropped at once).
        const owner = await registerAccount(app, "outage");
        const { projectId, apiKey, keyId } = await projectWithKey(app, owner);
        const list = () => call(app, "GET", `/subscribers/project/${projectId}`, { apiKey });
        expect((await list()).status).toBe(200);
        expect((await call(app, "DELETE", `/projects/${projectId}/api-keys/${keyId}`, { token: owner.token, orgId: owner.orgId })).status).toBe(200);
        expectEnvelope(await list(), 401, "Invalid API key");

        // Redis comes back: the server reconnects by itself and counts in Redis again.
        redisServer = await startRedisServer(port);
        await eventually(() => app.logs.some((l) => l.includes("redis reconnected")), 15_000, "the reconnection");
        const back = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
        back.on("error", () => {});
        try {
          const after = await ingest(app, "192.0.2.21");
          expect(after.status).toBe(401);
          expect(await back.get(`${prefix}rl:ingest:192.0.2.21`)).toBe("1");
          // And it listens again: an invalidation published by another instance is applied.
          const second = await projectWithKey(app, owner);
          const list2 = () => call(app, "GET", `/subscribers/project/${second.projectId}`, { apiKey: second.apiKey });
          expect((await list2()).status).toBe(200);
          await database.db.updateTable("apiKeys").set({ revokedAt: new Date().toISOString() }).where("id", "=", second.keyId).execute();
          expect((await list2()).status).toBe(200); // still cached: only the message can make it forget
          await eventually(async () => {
            await back.publish(`${prefix}invalidate`, JSON.stringify({ origin: "another-instance", message: { kind: "apiKey", keyHash: hashApiKey(second.apiKey) } }));
            return (await list2()).status === 401;
          }, 5000, "the published revocation to apply");
        } finally {
          back.disconnect();
        }
      } finally {
        if (redisServer) await stopProcess(redisServer);
      }
    }, 60_000);

    it("starts and serves when Redis is down from the start", async () => {
      const { database, prefix } = state;
      const port = await freePort(); // nothing listens there
      const started = performance.now();
      const app = await instance(database, { redisUrl: `redis://127.0.0.1:${port}`, redisKeyPrefix: prefix, rateLimits: { default: 1000, ingest: 2, auth: 100 } });
      expect(performance.now() - started).toBeLessThan(6000);
      const { value: statuses, ms } = await timed(async () => [(await ingest(app, "192.0.2.30")).status, (await ingest(app, "192.0.2.30")).status, (await ingest(app, "192.0.2.30")).status]);
      expect(statuses).toEqual([401, 401, 429]);
      expect(ms).toBeLessThan(2000);
      expect(app.logs.some((l) => l.includes("redis is not reachable yet"))).toBe(true);
    }, 30_000);
  },
  { redisServer: true },
);

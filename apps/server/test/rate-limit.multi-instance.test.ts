import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createDb, markSuiteRan, migrateToLatest } from "@reachbell/db";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { projectWithKey } from "./project-fixtures";
import { deleteKeys, describeWithRedis, stopProcess, TEST_REDIS_URL, uniquePrefix } from "./redis-support";
import { type TestServer, call, expectEnvelope, registerAccount } from "./support";

// Several real server processes (src/main.ts through tsx) on one PostgreSQL database and one Redis,
// as behind a load balancer: they share rate-limit counters, a key revoked through one is refused
// by the other on its very next request, and a limit the operator raises with the CLI applies on
// both at once.

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

interface Proc {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function startInstance(env: Record<string, string>): Promise<Proc> {
  const child = spawn(process.execPath, ["--import", TSX, MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start:\n${out}`)), 45_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited (${code}):\n${out}`));
    });
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.includes('"msg":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: JSON.parse(line).url as string, output: () => out });
      }
    });
  });
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const asServer = (p: Proc) => ({ url: p.url }) as TestServer;
const from = (ip: string) => ({ "x-forwarded-for": ip });

describeWithRedis(
  "several server processes on PostgreSQL + Redis",
  () => {
    const dbName = `rb_multi_${randomBytes(5).toString("hex")}`;
    const prefix = uniquePrefix("multi");
    let env: Record<string, string>;
    let a: Proc;
    let b: Proc;

    beforeAll(async () => {
      markSuiteRan("redis");
      const adminUrl = process.env.TEST_DATABASE_URL!;
      const admin = createDb(adminUrl);
      await sql`create database ${sql.id(dbName)}`.execute(admin.db);
      await admin.destroy();
      const url = new URL(adminUrl);
      url.pathname = `/${dbName}`;
      // Migrate once up front: the instances then start on an up-to-date schema (no concurrent migrations).
      const database = createDb(url.toString());
      await migrateToLatest(database.db, database.dialect);
      await database.destroy();
      env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        NODE_ENV: "production",
        JWT_SECRET: randomBytes(32).toString("hex"),
        ENCRYPTION_KEY: randomBytes(32).toString("hex"),
        VAPID_SUBJECT: "mailto:ops@example.test",
        DATABASE_URL: url.toString(),
        REDIS_URL: TEST_REDIS_URL!,
        REDIS_KEY_PREFIX: prefix,
        TRUST_PROXY: "1",
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "info",
      };
      [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    }, 90_000);

    afterAll(async () => {
      for (const p of [a, b]) if (p) await stopProcess(p.child, "SIGTERM");
      await deleteKeys(TEST_REDIS_URL!, prefix);
      const admin = createDb(process.env.TEST_DATABASE_URL);
      await sql`drop database if exists ${sql.id(dbName)} with (force)`.execute(admin.db);
      await admin.destroy();
    }, 60_000);

    it("shares the counters: 120 ingest requests split across both reach the limit together", async () => {
      const ip = "192.0.2.50";
      const remaining: number[] = [];
      for (let i = 0; i < 120; i++) {
        const res = await call(asServer(i % 2 ? b : a), "POST", "/subscribers", { body: {}, headers: from(ip) });
        expect(res.status).toBe(401);
        remaining.push(Number(res.headers.get("ratelimit-remaining")));
      }
      expect(remaining).toEqual(Array.from({ length: 120 }, (_, i) => 119 - i));
      for (const p of [a, b]) {
        const res = await call(asServer(p), "POST", "/subscribers", { body: {}, headers: from(ip) });
        expectEnvelope(res, 429, "Too many requests");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
    });

    it("refuses a key revoked through one instance on the other's next request", async () => {
      const owner = await registerAccount(asServer(a), "multi");
      const { projectId, apiKey, keyId } = await projectWithKey(asServer(a), owner);
      const list = (p: Proc) => call(asServer(p), "GET", `/subscribers/project/${projectId}`, { apiKey, headers: from("192.0.2.51") });
      // Both instances verify (and cache, for 60 s) the key.
      expect((await list(a)).status).toBe(200);
      expect((await list(b)).status).toBe(200);
      const revoke = await call(asServer(a), "DELETE", `/projects/${projectId}/api-keys/${keyId}`, { token: owner.token, orgId: owner.orgId });
      expect(revoke.status).toBe(200);
      expectEnvelope(await list(b), 401, "Invalid API key");
      expectEnvelope(await list(a), 401, "Invalid API key");
    });

    it("applies limits raised with the operator CLI on every instance at once", async () => {
      const owner = await registerAccount(asServer(b), "cli");
      const { projectId, apiKey } = await projectWithKey(asServer(b), owner);
      const list = (p: Proc) => call(asServer(p), "GET", `/subscribers/project/${projectId}`, { apiKey, headers: from("192.0.2.52") });
      expect((await list(a)).headers.get("ratelimit-limit")).toBe("120");
      expect((await list(b)).headers.get("ratelimit-limit")).toBe("120"); // both now cache "no raised limits"
      const cli = await runCli(["project", "set-rate-limits", "--id", projectId, "--ingest", "1000"], env);
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toEqual({ projectId, rateLimits: { ingest: 1000 }, propagation: "published" });
      const [ra, rb] = [await list(a), await list(b)];
      expect(ra.headers.get("ratelimit-limit")).toBe("1000");
      expect(rb.headers.get("ratelimit-limit")).toBe("1000");
      // One counter for the project's clients at this IP, across both instances.
      expect(Number(ra.headers.get("ratelimit-remaining")) - Number(rb.headers.get("ratelimit-remaining"))).toBe(1);
      const bad = await runCli(["project", "set-rate-limits", "--id", projectId, "--ingest", "lots"], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--ingest/);
      const missing = await runCli(["project", "set-rate-limits", "--id", "proj_nope", "--ingest", "10"], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no project proj_nope/);
    }, 60_000);
  },
  { postgres: true },
);

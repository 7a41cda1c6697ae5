import { createECDH, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo } from "node:net";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb } from "@reachbell/db";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, stopServers } from "./process-support";

// The real entry point (src/main.ts) in its own process, through tsx: configuration checks at
// start, JSON logs, and a clean stop on SIGTERM.

const SECRETS = { JWT_SECRET: "process-test-secret-".padEnd(48, "x"), ENCRYPTION_KEY: "cd".repeat(32), VAPID_SUBJECT: "mailto:ops@example.test" };

const dirs: string[] = [];
afterEach(async () => {
  await stopServers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "reachbell-process-"));
  dirs.push(d);
  return d;
}

/** Starts `node --import tsx src/main.ts` with exactly `env` (plus PATH/HOME), in `cwd`. */
const start = (env: Record<string, string>, cwd: string) => startServer(env, { cwd });

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`log line is not JSON: ${l}`);
      }
    });

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: res.status, requestId: res.headers.get("x-request-id"), body: (await res.json()) as any };
}

describe("the server process", () => {
  it("a production start without secrets exits non-zero, naming each problem", async () => {
    const cwd = tempDir();
    const run = start({ NODE_ENV: "production" }, cwd);
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    const err = run.stderr();
    expect(err).toMatch(/^\s*- JWT_SECRET: .*required/m);
    expect(err).toMatch(/^\s*- ENCRYPTION_KEY: .*required/m);
    expect(err).toMatch(/^\s*- VAPID_SUBJECT: /m);
    expect(run.stdout()).not.toContain("listening");
    // It stopped before touching any storage.
    expect(existsSync(join(cwd, "data"))).toBe(false);
  }, 60_000);

  it("a busy port: says which port is in use and exits 1 (no TypeError from the listen callback)", async () => {
    const cwd = tempDir();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const run = start({ ...SECRETS, PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: join(cwd, "busy.db") }, cwd);
      expect((await run.exited).code).toBe(1);
      expect(run.stderr()).toContain(`port ${port} is in use`);
      expect(run.stderr()).not.toMatch(/TypeError|family/);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it("serves, logs JSON lines with requestIds and never a password or token, and stops cleanly on SIGTERM", async () => {
    const cwd = tempDir();
    const dbFile = join(cwd, "reachbell.db");
    const run = start({ ...SECRETS, NODE_ENV: "production", PORT: "0", HOST: "127.0.0.1", DATABASE_URL: dbFile, LOG_LEVEL: "info" }, cwd);
    const listening = await run.waitForLine((l) => l.msg === "listening");
    const url: string = listening.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", database: "ok" });

    const email = `proc-${Date.now()}@example.test`;
    const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
    const reg = await post(`${url}/auth/register`, { email, password, name: "Proc", organizationName: "Proc Org" });
    expect(reg.status).toBe(201);
    const login = await post(`${url}/auth/login`, { email, password });
    expect(login.status).toBe(200);
    const token: string = login.body.access_token;
    const bad = await post(`${url}/auth/login`, { email, password: `${password}-wrong` });
    expect(bad.status).toBe(401);
    const me = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    const forged = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}x` } });
    expect(forged.status).toBe(401);
    const ids = [reg.requestId, login.requestId, bad.requestId, me.headers.get("x-request-id"), forged.headers.get("x-request-id")];

    // Every request is logged with its requestId (access log lines are written when the response finishes).
    for (const id of ids) {
      expect(id).toMatch(/^req_/);
      await run.waitForLine((l) => l.requestId === id, 5_000);
    }

    run.child.kill("SIGTERM");
    expect((await run.exited).code).toBe(0);

    const out = run.stdout();
    const lines = jsonLines(out);
    for (const l of lines) {
      expect(["debug", "info", "warn", "error"]).toContain(l.level);
      expect(typeof l.msg).toBe("string");
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
    }
    expect(lines.some((l) => l.msg === "database ready")).toBe(true);
    expect(lines.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM")).toBe(true);
    expect(lines[lines.length - 1].msg).toBe("stopped");
    const everything = out + run.stderr();
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(SECRETS.JWT_SECRET);
    // The database was the file we named, migrated.
    expect(existsSync(dbFile)).toBe(true);
  }, 90_000);

  it("on SIGTERM finishes a request in flight (its push delivered and recorded), refuses new ones, then exits 0", async () => {
    // A push service that holds the first push until the test lets it answer.
    let arrived!: () => void;
    const pushArrived = new Promise<void>((r) => (arrived = r));
    let answer!: () => void;
    const mayAnswer = new Promise<void>((r) => (answer = r));
    const pushService = createServer((req, res) => {
      req.resume();
      arrived();
      void mayAnswer.then(() => res.writeHead(201).end());
    });
    await new Promise<void>((r) => pushService.listen(0, "127.0.0.1", r));
    const pushPort = (pushService.address() as AddressInfo).port;
    try {
      const cwd = tempDir();
      const dbFile = join(cwd, "reachbell.db");
      const run = start({ ...SECRETS, PORT: "0", HOST: "127.0.0.1", DATABASE_URL: dbFile, PUSH_ALLOW_INSECURE_ENDPOINTS: "true" }, cwd);
      const url: string = (await run.waitForLine((l) => l.msg === "listening")).url;

      const reg = await post(`${url}/auth/register`, { email: `drain-${Date.now()}@example.test`, password: "correct horse battery", name: "D", organizationName: "D" });
      const auth = { authorization: `Bearer ${reg.body.access_token}`, "x-org-id": reg.body.user.organizations[0].id };
      const project = await post(`${url}/projects`, { name: "drain", environment: "live" }, auth);
      const key = await post(`${url}/projects/${project.body.id}/api-keys`, { name: "k" }, auth);
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const sub = await post(
        `${url}/subscribers`,
        { endpoint: `http://127.0.0.1:${pushPort}/push/1`, p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") },
        { "x-api-key": key.body.key },
      );
      expect(sub.status).toBe(201);

      const inFlight = post(`${url}/transactional/send`, { token: sub.body.token, title: "t", body: "b" }, { "x-api-key": key.body.key });
      await pushArrived;
      run.child.kill("SIGTERM");
      await run.waitForLine((l) => l.msg === "shutting down");
      // No longer accepting: a new connection is refused while the first request is still running.
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      answer();
      const sent = await inFlight;
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({ success: true, delivered: true, reason: null });
      expect((await run.exited).code).toBe(0);

      const database = createDb(dbFile);
      try {
        const row = await database.db.selectFrom("messages").select("status").where("id", "=", sent.body.messageId).executeTakeFirst();
        expect(row).toEqual({ status: "delivered" });
      } finally {
        await database.destroy();
      }
    } finally {
      pushService.close();
    }
  }, 90_000);

  it("with no configuration at all: SQLite in ./data, generated development secrets and a loud warning", async () => {
    const cwd = tempDir();
    const run = start({ PORT: "0", HOST: "127.0.0.1" }, cwd);
    const listening = await run.waitForLine((l) => l.msg === "listening");
    expect((await fetch(`${listening.url}/healthz`)).status).toBe(200);
    const warnings = jsonLines(run.stdout()).filter((l) => l.level === "warn");
    expect(warnings.some((w) => /JWT_SECRET/.test(w.msg))).toBe(true);
    expect(warnings.some((w) => /ENCRYPTION_KEY/.test(w.msg))).toBe(true);
    expect(existsSync(join(cwd, "data", "dev-secrets.json"))).toBe(true);
    expect(existsSync(join(cwd, "data", "reachbell.db"))).toBe(true);
    run.child.kill("SIGTERM");
    expect((await run.exited).code).toBe(0);
    expect(run.stdout()).toContain('"msg":"stopped"');
    expect(run.stdout()).not.toContain("loaded .env");
  }, 90_000);

  it("loads ./.env when present; variables already in the environment win over it", async () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, ".env"),
      [
        "# production secrets from the file: the server refuses to start without them",
        "NODE_ENV=production",
        `JWT_SECRET=${SECRETS.JWT_SECRET}`,
        `ENCRYPTION_KEY=${SECRETS.ENCRYPTION_KEY}`,
        `VAPID_SUBJECT="${SECRETS.VAPID_SUBJECT}"`,
        "HOST=127.0.0.1",
        "DATABASE_URL=from-dotenv.db",
        // Both overridden by the environment below: were the file to win, the start would fail (PORT) or log nothing (LOG_LEVEL).
        "PORT=not-a-port",
        "LOG_LEVEL=error",
        "",
      ].join("\n"),
    );
    const run = start({ PORT: "0", LOG_LEVEL: "info" }, cwd);
    const loaded = await run.waitForLine((l) => l.msg === "loaded .env");
    expect(loaded.file).toBe(join(cwd, ".env"));
    const listening = await run.waitForLine((l) => l.msg === "listening");
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.port).toBe(0);
    expect((await fetch(`${listening.url}/healthz`)).status).toBe(200);
    expect(existsSync(join(cwd, "from-dotenv.db"))).toBe(true);
    // Production with the file's secrets: none generated, no warning about them.
    expect(existsSync(join(cwd, "data", "dev-secrets.json"))).toBe(false);
    expect(run.stdout()).not.toContain(SECRETS.JWT_SECRET);
    run.child.kill("SIGTERM");
    expect((await run.exited).code).toBe(0);
  }, 90_000);
});

import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, createDb, testDialects } from "@reachbell/db";
import { decryptAes128gcm } from "@reachbell/push";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, stopServers } from "./process-support";

// The real server process (src/main.ts through tsx) killed with SIGKILL in the middle of a burst of
// transactional sends with Idempotency-Keys, then restarted on the same database:
// - every key's retry answers 200 (none is stuck at 409): keys done before the crash replay their
//   response, keys left in flight are released once their lease (IN_FLIGHT_LEASE) has run out;
// - the restart settles every message the crash left pending (failed / provider_error, attempt
//   error "interrupted"), and those do not count against the frequency cap;
// - duplicates are bounded by what was in flight: a key whose push may have reached the push
//   service before the crash is sent again by its retry, so per key at most 2 pushes if it was
//   in flight at the kill and exactly 1 otherwise; per recipient at most (its keys + its keys in
//   flight at the kill).

const SECRETS = { JWT_SECRET: "crash-recovery-secret-".padEnd(48, "x"), ENCRYPTION_KEY: "ab".repeat(32), VAPID_SUBJECT: "mailto:ops@example.test" };
const LEASE_S = 2;
const SUBSCRIBERS = 4;
const KEYS_PER_SUBSCRIBER = 6;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stopServers();
  for (const f of cleanups.splice(0).reverse()) await f();
});

const start = (env: Record<string, string>, cwd: string) => startServer(env, { cwd });

async function request(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method, headers: { "content-type": "application/json", ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** A database the server process can be pointed at (DATABASE_URL), and a handle on it for the test. */
async function targetDatabase(dialect: "sqlite" | "postgres"): Promise<{ url: string; open(): Database }> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "reachbell-crash-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "reachbell.db");
    return { url: file, open: () => createDb(file) };
  }
  const base = process.env.TEST_DATABASE_URL!;
  const schema = `crash_${randomBytes(6).toString("hex")}`;
  const admin = () => createDb({ dialect: "postgres", url: base }, { poolSize: 1 });
  const a = admin();
  await sql`create schema ${sql.id(schema)}`.execute(a.db);
  await a.destroy();
  cleanups.push(async () => {
    const c = admin();
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(c.db);
    await c.destroy();
  });
  // libpq's `options` in the URL: the server process works in the schema of its own.
  const url = `${base}${base.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return { url, open: () => createDb({ dialect: "postgres", url: base }, { searchPath: schema, poolSize: 2 }) };
}

/**
 * A slow push service: while `slow`, every other push to each subscription is never answered (the
 * service is stuck on it) and the others are answered after a short delay; afterwards every push is
 * answered at once. Each push is decrypted as the browser would, so the test counts what reached
 * each recipient, by title. (VAPID and the rest of the protocol are checked by the transactional
 * suites' push-service peer; this one only needs to be slow on demand.)
 */
async function startSlowPushService() {
  const keys = new Map<string, { privateKey: Buffer; publicKey: Buffer; auth: Buffer }>();
  const arrivals = new Map<string, number>();
  const received: { id: string; title: string }[] = [];
  const stuck: ServerResponse[] = [];
  const service = {
    slow: true,
    received,
    origin: "",
    subscribe(id: string) {
      const ecdh = createECDH("prime256v1");
      const publicKey = ecdh.generateKeys();
      const auth = randomBytes(16);
      keys.set(id, { privateKey: ecdh.getPrivateKey(), publicKey, auth });
      return { id, endpoint: `${service.origin}/push/${id}`, p256dh: publicKey.toString("base64url"), auth: auth.toString("base64url") };
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const id = /^\/push\/([\w-]+)$/.exec(req.url ?? "")?.[1] ?? "";
      const k = keys.get(id);
      if (!k) return void res.writeHead(404).end();
      received.push({ id, title: (JSON.parse(decryptAes128gcm(Buffer.concat(chunks), k).toString("utf8")) as { title: string }).title });
      const n = (arrivals.get(id) ?? 0) + 1;
      arrivals.set(id, n);
      if (!service.slow) return void res.writeHead(201).end();
      if (n % 2 === 0) return void stuck.push(res);
      setTimeout(() => res.writeHead(201).end(), 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  service.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return service;
}

async function until(cond: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("crash recovery of transactional sends", () => {
  for (const d of testDialects()) {
    it.skipIf(!d.enabled)(
      `SIGKILL mid-burst, restart: every Idempotency-Key retry succeeds, pending messages are settled and off the cap, duplicates bounded by what was in flight [${d.dialect}]${d.enabled ? "" : ` (skipped: ${d.reason})`}`,
      async () => {
        const peer = await startSlowPushService();
        cleanups.push(() => peer.close());
        const target = await targetDatabase(d.dialect);
        const cwd = mkdtempSync(join(tmpdir(), "reachbell-crash-cwd-"));
        cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
        const env = {
          ...SECRETS,
          PORT: "0",
          HOST: "127.0.0.1",
          DATABASE_URL: target.url,
          PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
          IN_FLIGHT_LEASE: `${LEASE_S}s`,
          RATE_LIMIT_DEFAULT: "100000",
          RATE_LIMIT_INGEST: "100000",
          RATE_LIMIT_AUTH: "1000",
        };

        // ---- first life: set up, then a burst the push service is slow to answer.
        const first = start(env, cwd);
        let url: string = (await first.waitForLine((l) => l.msg === "listening")).url;
        const reg = await request(`${url}/auth/register`, "POST", { email: `crash-${Date.now()}@example.test`, password: "correct horse battery", name: "C", organizationName: "C" });
        expect(reg.status).toBe(201);
        const auth = { authorization: `Bearer ${reg.body.access_token}`, "x-org-id": reg.body.user.organizations[0].id };
        const project = await request(`${url}/projects`, "POST", { name: "crash", environment: "live" }, auth);
        const apiKey: string = (await request(`${url}/projects/${project.body.id}/api-keys`, "POST", { name: "k" }, auth)).body.key;
        const browsers: { id: string }[] = [];
        const tokens: string[] = [];
        for (let i = 0; i < SUBSCRIBERS; i++) {
          const b = peer.subscribe(`b${i}`);
          const sub = await request(`${url}/subscribers`, "POST", { endpoint: b.endpoint, p256dh: b.p256dh, auth: b.auth }, { "x-api-key": apiKey });
          expect(sub.status).toBe(201);
          browsers.push(b);
          tokens.push(sub.body.token);
        }
        const sends = browsers.flatMap((b, i) => Array.from({ length: KEYS_PER_SUBSCRIBER }, (_, j) => ({ key: `k-${b.id}-${j}`, browser: b.id, token: tokens[i]! })));
        const sendBody = (s: (typeof sends)[number]) => ({ token: s.token, title: s.key, body: "crash test" });
        let answered = 0;
        const burst = sends.map((s) =>
          request(`${url}/transactional/send`, "POST", sendBody(s), { "x-api-key": apiKey, "Idempotency-Key": s.key }).then(
            (r) => {
              answered++;
              return r;
            },
            () => undefined,
          ),
        );
        // Mid-burst: half the pushes have reached the push service (some answered, some stuck), the rest not yet.
        await until(() => peer.received.length >= sends.length / 2 && answered >= 1, 20_000, "half the burst at the push service");
        first.child.kill("SIGKILL");
        const killedAt = Date.now();
        expect((await first.exited).signal).toBe("SIGKILL");
        peer.slow = false;
        const beforeCrash = await Promise.all(burst);
        for (const r of beforeCrash) if (r) expect(r.status).toBe(200);

        // ---- what the crash left in the database.
        let database = target.open();
        const keyRows = await database.db.selectFrom("idempotencyKeys").select(["key", "state"]).where("projectId", "=", project.body.id).execute();
        const messageRows = await database.db.selectFrom("messages").select(["subscriberId", "status", "payload"]).where("projectId", "=", project.body.id).execute();
        await database.destroy();
        const stateAtKill = new Map(keyRows.map((r) => [r.key, r.state]));
        const inFlightAtKill = sends.filter((s) => stateAtKill.get(s.key) === "in_flight");
        const doneAtKill = sends.filter((s) => stateAtKill.get(s.key) === "done");
        const pendingAtKill = messageRows.filter((m) => m.status === "pending");
        // The scenario really happened: sends cut off mid-push, and sends finished before the kill.
        expect(inFlightAtKill.length).toBeGreaterThan(0);
        expect(pendingAtKill.length).toBeGreaterThan(0);
        expect(doneAtKill.length).toBeGreaterThan(0);
        // Delivered messages whose key was not marked done yet (killed between the two writes): the
        // retry sends them again, so the cap below leaves room for exactly those.
        const subscriberOf = new Map(sends.map((s) => [s.key, s.browser]));
        const deliveredBeyondDone = new Map<string, number>();
        for (const m of messageRows) {
          if (m.status !== "delivered") continue;
          const key = (JSON.parse(m.payload) as { title: string }).title;
          if (stateAtKill.get(key) !== "done") deliveredBeyondDone.set(subscriberOf.get(key)!, (deliveredBeyondDone.get(subscriberOf.get(key)!) ?? 0) + 1);
        }
        const extra = Math.max(0, ...deliveredBeyondDone.values());

        // ---- second life, once every lease the dead process held has run out (its last renewal was before the kill).
        await sleep(Math.max(0, killedAt + LEASE_S * 1000 + 250 - Date.now()));
        const second = start(env, cwd);
        const settled = await second.waitForLine((l) => l.msg === "settled interrupted sends");
        expect(settled).toMatchObject({ messages: pendingAtKill.length, idempotencyKeys: inFlightAtKill.length });
        url = (await second.waitForLine((l) => l.msg === "listening")).url;
        database = target.open();
        const stillPending = await database.db.selectFrom("messages").select("id").where("status", "=", "pending").execute();
        expect(stillPending).toEqual([]);
        await database.destroy();

        // A frequency cap with room for exactly one delivered push per key: if the settled
        // messages counted against it, the retries of the keys left in flight would be capped.
        const patched = await request(`${url}/projects/${project.body.id}`, "PATCH", { deliveryPolicy: { frequencyCap: { max: KEYS_PER_SUBSCRIBER + extra, windowSeconds: 3600 } } }, auth);
        expect(patched.status).toBe(200);

        const retries = await Promise.all(sends.map((s) => request(`${url}/transactional/send`, "POST", sendBody(s), { "x-api-key": apiKey, "Idempotency-Key": s.key })));
        for (const [i, r] of retries.entries()) {
          expect(r.status, `retry of ${sends[i]!.key}`).toBe(200);
          expect(r.body, `retry of ${sends[i]!.key}`).toMatchObject({ success: true, delivered: true, reason: null });
        }
        const replayed = sends.filter((_, i) => retries[i]!.headers.get("idempotent-replayed") === "true").map((s) => s.key);
        expect(replayed.sort()).toEqual(doneAtKill.map((s) => s.key).sort());

        // The bound: per key, 1 push; 2 at most for a key that was in flight at the kill.
        const pushesFor = (key: string) => peer.received.filter((r) => r.title === key).length;
        const wasInFlight = new Set(inFlightAtKill.map((s) => s.key));
        for (const s of sends) {
          expect(pushesFor(s.key), s.key).toBeGreaterThanOrEqual(1);
          expect(pushesFor(s.key), s.key).toBeLessThanOrEqual(wasInFlight.has(s.key) ? 2 : 1);
        }
        for (const b of browsers) {
          const received = peer.received.filter((r) => r.id === b.id).length;
          expect(received).toBeLessThanOrEqual(KEYS_PER_SUBSCRIBER + inFlightAtKill.filter((s) => s.browser === b.id).length);
        }
        expect(peer.received.length - sends.length).toBeLessThanOrEqual(inFlightAtKill.length);

        // Retrying again replays every key and sends nothing more.
        const pushesBefore = peer.received.length;
        const again = await Promise.all(sends.map((s) => request(`${url}/transactional/send`, "POST", sendBody(s), { "x-api-key": apiKey, "Idempotency-Key": s.key })));
        expect(again.every((r) => r.status === 200 && r.headers.get("idempotent-replayed") === "true")).toBe(true);
        expect(peer.received.length).toBe(pushesBefore);
        // The cap still counts what was delivered: the fullest recipient is now at it.
        const fullest = browsers.findIndex((b) => (deliveredBeyondDone.get(b.id) ?? 0) === extra);
        const capped = await request(`${url}/transactional/send`, "POST", { token: tokens[fullest], title: "one more", body: "b" }, { "x-api-key": apiKey });
        expect(capped.body).toMatchObject({ delivered: false, reason: "frequency_capped" });

        second.child.kill("SIGTERM");
        expect((await second.exited).code).toBe(0);
      },
      120_000,
    );
  }
});

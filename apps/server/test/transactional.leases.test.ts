import { createECDH, randomBytes } from "node:crypto";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { newId, testDialects } from "@reachbell/db";
import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/env";
import { idempotencyRequestHash } from "../src/services/idempotency";
import { settleInterrupted } from "../src/services/messages";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, type TestServer, call, expectEnvelope, registerAccount, startServer } from "./support";

// In-flight Idempotency-Keys and pending messages hold a lease (config.inFlightLeaseSeconds, from the
// server's clock, renewed while the send runs). What a crashed instance leaves behind is written here
// row by row, exactly as the crash leaves it; the real crash is in crash-recovery.test.ts.

const LEASE_S = 30;

describe("IN_FLIGHT_LEASE", () => {
  const secrets = { JWT_SECRET: "lease-config-secret-".padEnd(40, "x"), ENCRYPTION_KEY: "ef".repeat(32) };
  it("defaults to 30 s, takes a duration, and refuses nonsense or more than an hour", () => {
    expect(loadConfig(secrets).config.inFlightLeaseSeconds).toBe(30);
    expect(loadConfig({ ...secrets, IN_FLIGHT_LEASE: "45s" }).config.inFlightLeaseSeconds).toBe(45);
    expect(loadConfig({ ...secrets, IN_FLIGHT_LEASE: "1m" }).config.inFlightLeaseSeconds).toBe(60);
    for (const bad of ["soon", "0", "2h"]) {
      expect(() => loadConfig({ ...secrets, IN_FLIGHT_LEASE: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ...secrets, IN_FLIGHT_LEASE: bad }), bad).toThrow(/IN_FLIGHT_LEASE/);
    }
  });
});

for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`transactional send: in-flight leases [${d.dialect}]${d.enabled ? "" : ` (skipped: ${d.reason})`}`, () => {
    let server: TestServer;
    let peer: PushServicePeer;
    let owner: Account;
    let now = new Date("2026-04-01T12:00:00.000Z");
    const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
    beforeAll(async () => {
      peer = await startPushServicePeer();
      server = await startServer(d.dialect, { pushAllowInsecureEndpoints: true, inFlightLeaseSeconds: LEASE_S }, () => now);
      owner = await registerAccount(server, "lease");
    });
    afterAll(async () => {
      await server.close();
      await peer.close();
    });

    /** A crashed send's leftovers: its key in_flight under an owner that never renews, and its reserved message pending. */
    async function crashResidue(
      target: TestServer,
      r: { projectId: string; subscriberId: string; key?: string; body?: Record<string, unknown>; leaseExpiresAt: string | null; createdAt?: string },
    ) {
      const db = target.database.db;
      const createdAt = r.createdAt ?? now.toISOString();
      if (r.key !== undefined) {
        await db
          .insertInto("idempotencyKeys")
          .values({ projectId: r.projectId, key: r.key, requestHash: idempotencyRequestHash(r.body), state: "in_flight", response: null, createdAt, leaseOwner: r.leaseExpiresAt === null ? null : "crashed", leaseExpiresAt: r.leaseExpiresAt })
          .execute();
      }
      const id = newId("msg");
      const payload = JSON.stringify({ title: "t", body: "b", url: null, iconUrl: null, imageUrl: null, badge: null, messageId: id });
      await db
        .insertInto("messages")
        .values({ id, projectId: r.projectId, subscriberId: r.subscriberId, kind: "transactional", mode: "live", payload, status: "pending", reason: null, pushStatus: null, attempts: "[]", createdAt, completedAt: null, durationMs: null, leaseExpiresAt: r.leaseExpiresAt })
        .execute();
      return id;
    }
    const keyRow = (projectId: string, key: string) => server.database.db.selectFrom("idempotencyKeys").selectAll().where("projectId", "=", projectId).where("key", "=", key).executeTakeFirst();

    it("a key still in flight answers 409 and its pending message holds the cap slot; once the lease has run out, a retry takes the key over and delivers", async () => {
      now = new Date("2026-04-01T12:00:00.000Z");
      const { projectId, apiKey } = await createProjectWithKey(server, owner, { deliveryPolicy: { quietHours: null, frequencyCap: { max: 1, windowSeconds: 3600 } } });
      const browser = peer.createSubscriber();
      const sub = await registerSubscriber(server, apiKey, browser);
      const body = { token: sub.token, title: "Order 1", body: "shipped" };
      const headers = { "Idempotency-Key": `order-1-${randomBytes(4).toString("hex")}` };
      const orphan = await crashResidue(server, { projectId, subscriberId: sub.id, key: headers["Idempotency-Key"], body, leaseExpiresAt: at(LEASE_S * 1000) });
      const pushes = () => peer.received.filter((r) => r.id === browser.id).length;

      // Fresh: nobody may tell a crashed holder from a slow one yet.
      now = new Date(now.getTime() + (LEASE_S - 1) * 1000);
      expectEnvelope(await sendPush(server, apiKey, body, headers), 409, /in progress/);
      expect((await sendPush(server, apiKey, { token: sub.token })).body.reason).toBe("frequency_capped");
      expect(pushes()).toBe(0);

      // Expired: the retry takes the key over; the orphaned pending message no longer holds the only cap slot.
      now = new Date(now.getTime() + 1000);
      const retry = await sendPush(server, apiKey, body, headers);
      expect(retry.status).toBe(200);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      expect(retry.body).toMatchObject({ success: true, delivered: true, reason: null });
      expect(pushes()).toBe(1);
      expect(await keyRow(projectId, headers["Idempotency-Key"])).toMatchObject({ state: "done", leaseOwner: null, leaseExpiresAt: null });
      const again = await sendPush(server, apiKey, body, headers);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.body).toEqual(retry.body);
      expect(pushes()).toBe(1);
      // A different body under the taken-over key is still refused.
      expectEnvelope(await sendPush(server, apiKey, { ...body, title: "Order 2" }, headers), 422, /Idempotency-Key/);

      // The sweep gives the orphan its final outcome, which does not count against the cap.
      expect((await call(server, "GET", `/messages/${orphan}`, { apiKey })).body.status).toBe("pending");
      await settleInterrupted(server.app.deps);
      const settled = await call(server, "GET", `/messages/${orphan}`, { apiKey });
      expect(settled.body).toMatchObject({ status: "failed", reason: "provider_error", completedAt: now.toISOString() });
      expect(settled.body.attempts).toEqual([{ at: now.toISOString(), status: null, error: "interrupted", durationMs: 0 }]);
      now = new Date(now.getTime() + 3601 * 1000); // past the delivered one's window
      expect((await sendPush(server, apiKey, { token: sub.token })).body).toMatchObject({ delivered: true, reason: null });
    });

    it("two retries racing for an expired key: exactly one takes it over and sends", async () => {
      now = new Date("2026-04-02T12:00:00.000Z");
      const { projectId, apiKey } = await createProjectWithKey(server, owner);
      const browser = peer.createSubscriber();
      const sub = await registerSubscriber(server, apiKey, browser);
      const body = { token: sub.token, title: "Race", body: "b" };
      for (let round = 0; round < 5; round++) {
        const headers = { "Idempotency-Key": `race-${round}-${randomBytes(4).toString("hex")}` };
        await crashResidue(server, { projectId, subscriberId: sub.id, key: headers["Idempotency-Key"], body, leaseExpiresAt: at(-1) });
        const before = peer.received.filter((r) => r.id === browser.id).length;
        const results = await Promise.all([sendPush(server, apiKey, body, headers), sendPush(server, apiKey, body, headers), sendPush(server, apiKey, body, headers)]);
        const fresh = results.filter((r) => r.status === 200 && r.headers.get("idempotent-replayed") === null);
        expect(fresh).toHaveLength(1);
        for (const r of results) if (r !== fresh[0]) expect(r.status === 409 || (r.status === 200 && r.headers.get("idempotent-replayed") === "true")).toBe(true);
        expect(peer.received.filter((r) => r.id === browser.id).length - before).toBe(1);
      }
    });

    it("settleInterrupted settles only leftovers whose lease has run out (rows from before leases: one lease after creation)", async () => {
      now = new Date("2026-04-03T12:00:00.000Z");
      const { projectId, apiKey } = await createProjectWithKey(server, owner);
      const sub = await registerSubscriber(server, apiKey, peer.createSubscriber());
      const k = (n: string) => `settle-${n}-${randomBytes(4).toString("hex")}`;
      const leftover = async (name: string, leaseExpiresAt: string | null, createdAt?: string) => {
        const key = k(name);
        const id = await crashResidue(server, { projectId, subscriberId: sub.id, key, body: { name }, leaseExpiresAt, ...(createdAt ? { createdAt } : {}) });
        return { key, id };
      };
      const live = await leftover("live", at(5000));
      const expired = await leftover("expired", at(0));
      const legacyOld = await leftover("legacy-old", null, at(-LEASE_S * 1000));
      const legacyNew = await leftover("legacy-new", null, at(-1000));

      const status = async (id: string) => (await call(server, "GET", `/messages/${id}`, { apiKey })).body.status;
      const hasKey = async (key: string) => (await keyRow(projectId, key)) !== undefined;
      const settled = await settleInterrupted(server.app.deps);
      expect(settled.messages).toBeGreaterThanOrEqual(2);
      expect(settled.idempotencyKeys).toBeGreaterThanOrEqual(2);
      expect([await status(live.id), await status(expired.id), await status(legacyOld.id), await status(legacyNew.id)]).toEqual(["pending", "failed", "failed", "pending"]);
      expect([await hasKey(live.key), await hasKey(expired.key), await hasKey(legacyOld.key), await hasKey(legacyNew.key)]).toEqual([true, false, false, true]);

      now = new Date(now.getTime() + LEASE_S * 1000);
      expect(await settleInterrupted(server.app.deps)).toEqual({ messages: 2, idempotencyKeys: 2 });
      expect([await status(live.id), await status(legacyNew.id)]).toEqual(["failed", "failed"]);
      expect([await hasKey(live.key), await hasKey(legacyNew.key)]).toEqual([false, false]);
      expect(await settleInterrupted(server.app.deps)).toEqual({ messages: 0, idempotencyKeys: 0 });
    });

    it("a live send renews its leases: however long it runs, a retry gets 409 and its cap slot stays held", async () => {
      // A push service that holds every push until the test lets it answer.
      const held: (() => void)[] = [];
      let arrived!: () => void;
      const firstArrived = new Promise<void>((r) => (arrived = r));
      const slow: Server = createServer((req, res) => {
        req.resume();
        held.push(() => res.writeHead(201).end());
        arrived();
      });
      await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
      // A 1 s lease, renewed about every 333 ms of real time; the server's clock is the test's.
      const short = await startServer(d.dialect, { pushAllowInsecureEndpoints: true, inFlightLeaseSeconds: 1 }, () => now);
      try {
        now = new Date("2026-04-04T12:00:00.000Z");
        const acct = await registerAccount(short, "lease-live");
        const { projectId, apiKey } = await createProjectWithKey(short, acct, { deliveryPolicy: { quietHours: null, frequencyCap: { max: 1, windowSeconds: 3600 } } });
        const ecdh = createECDH("prime256v1");
        ecdh.generateKeys();
        const endpoint = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/push/1`;
        const sub = await registerSubscriber(short, apiKey, { endpoint, p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") });
        const body = { token: sub.token, title: "Slow", body: "b" };
        const headers = { "Idempotency-Key": `slow-${randomBytes(4).toString("hex")}` };
        const first = sendPush(short, apiKey, body, headers);
        await firstArrived;

        // Far past the lease it took, in the server's clock; wait (real time) until both leases were renewed from it.
        now = new Date(now.getTime() + 60_000);
        const db = short.database.db;
        const renewed = async () => {
          const key = await db.selectFrom("idempotencyKeys").select("leaseExpiresAt").where("projectId", "=", projectId).where("key", "=", headers["Idempotency-Key"]).executeTakeFirstOrThrow();
          const msg = await db.selectFrom("messages").select("leaseExpiresAt").where("projectId", "=", projectId).where("status", "=", "pending").executeTakeFirstOrThrow();
          return key.leaseExpiresAt! > now.toISOString() && msg.leaseExpiresAt! > now.toISOString();
        };
        for (let i = 0; i < 100 && !(await renewed()); i++) await new Promise((r) => setTimeout(r, 50));
        expect(await renewed()).toBe(true);
        expectEnvelope(await sendPush(short, apiKey, body, headers), 409, /in progress/);
        expect((await sendPush(short, apiKey, { token: sub.token })).body.reason).toBe("frequency_capped");
        expect(await settleInterrupted(short.app.deps)).toEqual({ messages: 0, idempotencyKeys: 0 });
        expect(held).toHaveLength(1);

        held[0]!();
        const done = await first;
        expect(done.body).toMatchObject({ delivered: true, reason: null });
        const replay = await sendPush(short, apiKey, body, headers);
        expect(replay.headers.get("idempotent-replayed")).toBe("true");
        expect(replay.body).toEqual(done.body);
        expect(held).toHaveLength(1);
      } finally {
        await short.close();
        slow.closeAllConnections();
        slow.close();
      }
    });
  });
}

import { testDialects } from "@reachbell/db";
import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { startDueCampaigns } from "../src/campaigns/scheduler";
import { requeueExpiredClaims } from "../src/campaigns/supervisor";
import { settleInterrupted } from "../src/services/messages";
import {
  campaignAction,
  campaignRow,
  createCampaign,
  engineConfig,
  messageRows,
  startGatedSink,
  stopEngine,
  waitFor,
  waitForStatus,
} from "./campaigns-engine-support";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, type TestServer, call, registerAccount, startServer } from "./support";

// The fan-out engine end to end: campaigns made over the REST API, the engine running in the app
// (in-process queue on SQLite, pg-boss on PostgreSQL), pushes decrypted by a real push-service peer.
for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`campaign fan-out [${d.dialect}]`, () => {
    let server: TestServer;
    let peer: PushServicePeer;
    let peerB: PushServicePeer;
    let throttling: PushServicePeer;
    let owner: Account;
    let now = new Date("2026-03-10T12:00:00Z");
    const clock = () => now;

    beforeAll(async () => {
      peer = await startPushServicePeer();
      peerB = await startPushServicePeer();
      throttling = await startPushServicePeer();
      server = await startServer(d.dialect, engineConfig(), clock);
      owner = await registerAccount(server, "fanout");
      await server.app.deps.fanout.start();
    });
    afterAll(async () => {
      await stopEngine(server);
      await server.close();
      await peer.close();
      await peerB.close();
      await throttling.close();
    });

    const project = (opts: Parameters<typeof createProjectWithKey>[2] = {}) => createProjectWithKey(server, owner, { timezone: "UTC", ...opts });
    const subscribe = async (apiKey: string, p: PushServicePeer, n: number, extra: Record<string, unknown> = {}) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push({ ...(await registerSubscriber(server, apiKey, p.createSubscriber(), extra)) });
      return out;
    };
    const receivedFor = (p: PushServicePeer, campaignMessageIds: Set<string>) => p.received.filter((r) => campaignMessageIds.has((r.payload as { messageId: string }).messageId));

    it("sends exactly the segment's active subscribers one push each, with UTM applied", async () => {
      const { projectId, apiKey } = await project();
      const tagged = await subscribe(apiKey, peer, 23, { country: "DE" });
      await subscribe(apiKey, peer, 4, { country: "FR" });
      const gone = tagged.slice(0, 3).map((s) => s.id);
      await server.database.db.updateTable("subscribers").set({ status: "unsubscribed" }).where("id", "in", gone).execute();
      const count = await call(server, "POST", "/segments/count", { token: owner.token, orgId: owner.orgId, body: { projectId, filters: { country: ["DE"] } } });
      expect(count.body.count).toBe(20);

      const c = await createCampaign(server, owner, projectId, { segment: { filters: { country: ["DE"] } }, utm: { source: "push", medium: "web", campaign: "spring" } });
      const done = await waitForStatus(server, c.id, "sent");
      expect(done.audienceCount).toBe(20);
      expect(done.completedAt).not.toBeNull();
      const rows = await messageRows(server, c.id);
      expect(rows).toHaveLength(20);
      expect(new Set(rows.map((r) => r.subscriberId)).size).toBe(20);
      expect(rows.map((r) => r.subscriberId).some((id) => gone.includes(id as string))).toBe(false);
      expect(rows.every((r) => r.status === "delivered" && r.kind === "campaign" && r.pushStatus === 201)).toBe(true);
      const seen = receivedFor(peer, new Set(rows.map((r) => r.id)));
      expect(seen).toHaveLength(20);
      expect(new Set(seen.map((r) => (r.payload as { messageId: string }).messageId)).size).toBe(20);
      const url = new URL((seen[0]!.payload as { url: string }).url);
      expect(url.searchParams.get("utm_campaign")).toBe("spring");
    });

    it("sandbox projects simulate: rows simulated, nothing reaches the push service", async () => {
      const { projectId, apiKey } = await project({ environment: "sandbox" });
      await subscribe(apiKey, peer, 5);
      const before = peer.requestCount;
      const c = await createCampaign(server, owner, projectId);
      await waitForStatus(server, c.id, "sent");
      const rows = await messageRows(server, c.id);
      expect(rows.map((r) => r.status)).toEqual(Array(5).fill("simulated"));
      expect(peer.requestCount).toBe(before);
    });

    it("404/410 fail the message as subscription_expired and expire the subscriber", async () => {
      const { projectId, apiKey } = await project();
      const browser = peer.createSubscriber();
      const sub = await registerSubscriber(server, apiKey, browser);
      await subscribe(apiKey, peer, 2);
      peer.script(browser.id, [{ status: 410 }]);
      const c = await createCampaign(server, owner, projectId);
      await waitForStatus(server, c.id, "sent");
      const row = (await messageRows(server, c.id)).find((r) => r.subscriberId === sub.id)!;
      expect(row).toMatchObject({ status: "failed", reason: "subscription_expired", pushStatus: 410 });
      const s = await server.database.db.selectFrom("subscribers").select("status").where("id", "=", sub.id).executeTakeFirstOrThrow();
      expect(s.status).toBe("expired");
    });

    it("the frequency cap skips a recipient who already had a push in the window", async () => {
      const { projectId, apiKey } = await project({ deliveryPolicy: { quietHours: null, frequencyCap: { max: 1, windowSeconds: 3600 } } });
      const [capped, ...others] = await subscribe(apiKey, peer, 4);
      expect((await sendPush(server, apiKey, { token: capped!.token })).body.delivered).toBe(true);
      const c = await createCampaign(server, owner, projectId);
      await waitForStatus(server, c.id, "sent");
      const rows = await messageRows(server, c.id);
      expect(rows.find((r) => r.subscriberId === capped!.id)).toMatchObject({ status: "skipped", reason: "frequency_capped" });
      for (const o of others) expect(rows.find((r) => r.subscriberId === o.id)?.status).toBe("delivered");
    });

    it("quiet hours defer recipients to the end of their window; the campaign stays sending until then", async () => {
      now = new Date("2026-03-10T23:30:00Z");
      const { projectId, apiKey } = await project({ deliveryPolicy: { quietHours: { start: "22:00", end: "08:00" }, frequencyCap: null } });
      const utc = await subscribe(apiKey, peer, 2); // project timezone UTC: quiet
      const [tokyo] = await subscribe(apiKey, peer, 1, { timezone: "Asia/Tokyo" }); // 08:30 there: not quiet
      const c = await createCampaign(server, owner, projectId);
      await waitFor("deferral", async () => {
        const rows = await messageRows(server, c.id);
        return rows.length === 3 && rows.filter((r) => r.status === "queued" && r.notBefore !== null).length === 2 && rows.some((r) => r.status === "delivered");
      });
      const rows = await messageRows(server, c.id);
      expect(rows.find((r) => r.subscriberId === tokyo!.id)?.status).toBe("delivered");
      for (const s of utc) expect(rows.find((r) => r.subscriberId === s.id)).toMatchObject({ status: "queued", notBefore: "2026-03-11T08:00:00.000Z" });
      expect((await campaignRow(server, c.id)).status).toBe("sending");

      now = new Date("2026-03-11T08:00:01Z");
      await waitForStatus(server, c.id, "sent");
      expect((await messageRows(server, c.id)).map((r) => r.status)).toEqual(["delivered", "delivered", "delivered"]);
      now = new Date("2026-03-10T12:00:00Z");
    });

    it("a 429 with Retry-After holds back that push service's origin only", async () => {
      const { projectId, apiKey } = await project();
      const throttled = [];
      for (let i = 0; i < 6; i++) {
        const b = throttling.createSubscriber();
        throttling.script(b.id, [{ status: 429, headers: { "retry-after": "600" } }]);
        throttled.push(await registerSubscriber(server, apiKey, b));
      }
      const fine = await subscribe(apiKey, peerB, 6);
      const c = await createCampaign(server, owner, projectId);
      // Two lanes may send the two chunks at once: wait for the throttled rows' own chunk to be recorded too.
      await waitFor("the other origin delivered", async () => {
        const rows = await messageRows(server, c.id);
        return rows.length === 12 && fine.every((s) => rows.find((r) => r.subscriberId === s.id)?.status === "delivered") && rows.every((r) => r.status !== "pending");
      });
      let rows = await messageRows(server, c.id);
      for (const s of throttled) {
        const r = rows.find((m) => m.subscriberId === s.id)!;
        expect(r.status).toBe("queued");
        expect(Date.parse(r.notBefore!)).toBeGreaterThanOrEqual(now.getTime() + 600_000 - 5_000);
      }
      expect((await campaignRow(server, c.id)).status).toBe("sending");

      // Each throttled subscription answers 429 once (the peer's script), to whichever attempt reaches it
      // first: rows held back without an attempt meet theirs on a later round, and wait again.
      for (let round = 0; round < 6 && (await campaignRow(server, c.id)).status === "sending"; round++) {
        now = new Date(now.getTime() + 601_000);
        await waitFor("the origin's next round", async () => (await messageRows(server, c.id)).every((r) => r.status !== "pending" && (r.status !== "queued" || Date.parse(r.notBefore!) > now.getTime())));
      }
      await waitForStatus(server, c.id, "sent");
      rows = await messageRows(server, c.id);
      expect(rows.every((r) => r.status === "delivered")).toBe(true);
      // Every throttled row carries its 429 and then its success.
      for (const s of throttled) expect(JSON.parse(rows.find((r) => r.subscriberId === s.id)!.attempts).map((a: { status: number }) => a.status)).toEqual([429, 201]);
      now = new Date("2026-03-10T12:00:00Z");
    });

    it("pause stops the fan-out after the chunk in flight; resume finishes it with no duplicates", async () => {
      const sink = await startGatedSink();
      try {
        const { projectId, apiKey } = await project();
        for (let i = 0; i < 60; i++) await registerSubscriber(server, apiKey, { ...peer.createSubscriber(), endpoint: sink.endpointFor(`s${i}`) });
        sink.hold();
        const c = await createCampaign(server, owner, projectId);
        await waitFor("sends in flight", async () => sink.heldCount > 0);
        expect((await campaignAction(server, owner, c.id, "pause")).status).toBe(200);
        sink.release();
        await waitFor("no claim left in flight", async () => (await messageRows(server, c.id)).every((r) => r.status !== "pending"));
        const sentWhilePausing = sink.paths.length;
        const cfg = server.config.fanout;
        // At most the chunks already claimed when the pause committed: one per lane.
        expect(sentWhilePausing).toBeLessThanOrEqual(cfg.chunkSize * cfg.lanes);
        expect((await messageRows(server, c.id)).some((r) => r.status === "queued")).toBe(true);
        expect((await campaignRow(server, c.id)).status).toBe("paused");

        expect((await campaignAction(server, owner, c.id, "resume")).status).toBe(200);
        await waitForStatus(server, c.id, "sent");
        const rows = await messageRows(server, c.id);
        expect(rows).toHaveLength(60);
        expect(rows.every((r) => r.status === "delivered")).toBe(true);
        expect(sink.paths).toHaveLength(60);
        expect(new Set(sink.paths).size).toBe(60);
      } finally {
        await sink.close();
      }
    });

    it("cancel mid-send: what was not sent is skipped as campaign_cancelled", async () => {
      const sink = await startGatedSink();
      try {
        const { projectId, apiKey } = await project();
        for (let i = 0; i < 40; i++) await registerSubscriber(server, apiKey, { ...peer.createSubscriber(), endpoint: sink.endpointFor(`c${i}`) });
        sink.hold();
        const c = await createCampaign(server, owner, projectId);
        await waitFor("sends in flight", async () => sink.heldCount > 0);
        expect((await campaignAction(server, owner, c.id, "cancel")).status).toBe(200);
        sink.release();
        const rows = await waitFor("every row settled", async () => {
          const r = await messageRows(server, c.id);
          return r.every((m) => m.status !== "pending" && m.status !== "queued") ? r : undefined;
        });
        const delivered = rows.filter((r) => r.status === "delivered").length;
        const cancelled = rows.filter((r) => r.status === "skipped" && r.reason === "campaign_cancelled").length;
        expect(delivered).toBe(sink.paths.length);
        expect(delivered + cancelled).toBe(rows.length);
        expect(cancelled).toBeGreaterThan(0);
        expect((await campaignRow(server, c.id)).status).toBe("cancelled");
      } finally {
        await sink.close();
      }
    });

    it("a scheduled campaign starts when the clock reaches sendAt, exactly once", async () => {
      const { projectId, apiKey } = await project();
      await subscribe(apiKey, peer, 3);
      const sendAt = new Date(now.getTime() + 3600_000).toISOString();
      const c = await createCampaign(server, owner, projectId, { schedule: { mode: "scheduled", sendAt } });
      expect(c.status).toBe("scheduled");
      const deps = server.app.deps;
      expect(await startDueCampaigns(deps, deps.fanout)).toEqual([]);
      expect((await campaignRow(server, c.id)).status).toBe("scheduled");

      now = new Date(Date.parse(sendAt) + 1000);
      // Concurrent ticks (as from several instances) start it once; the engine's own tick may win too.
      const started = (await Promise.all([startDueCampaigns(deps, deps.fanout), startDueCampaigns(deps, deps.fanout)])).flat();
      expect(started.length).toBeLessThanOrEqual(1);
      await waitForStatus(server, c.id, "sent");
      expect(await messageRows(server, c.id)).toHaveLength(3);
      now = new Date("2026-03-10T12:00:00Z");
    });

    it("settleInterrupted leaves campaign rows alone; the supervisor re-queues an expired claim", async () => {
      const { projectId, apiKey } = await project();
      const [sub] = await subscribe(apiKey, peer, 1);
      const c = await createCampaign(server, owner, projectId, { schedule: { mode: "draft" } });
      // What a dead instance leaves: the campaign sending, its one recipient claimed, the lease run out.
      const db = server.database.db;
      const past = new Date(now.getTime() - 60_000).toISOString();
      await db
        .updateTable("campaigns")
        .set({ status: "sending", audienceFilters: "{}", startedAt: past, cursor: sub!.id, audienceDone: 1, audienceCount: 1, fanoutHeartbeatAt: past })
        .where("id", "=", c.id)
        .execute();
      await db
        .insertInto("messages")
        .values({ id: "msg_0000000000INTERRUPTED00001", projectId, subscriberId: sub!.id, campaignId: c.id, kind: "campaign", mode: "live", payload: JSON.stringify({ title: "Sale", body: "x", messageId: "msg_0000000000INTERRUPTED00001" }), status: "pending", reason: null, pushStatus: null, attempts: "[]", createdAt: past, completedAt: null, durationMs: null, leaseExpiresAt: past })
        .execute();
      // The engine is stopped meanwhile, so these calls are the only actors.
      await server.app.deps.fanout.stop();
      try {
        await settleInterrupted(server.app.deps);
        expect((await messageRows(server, c.id))[0]?.status).toBe("pending");
        expect(await requeueExpiredClaims(server.app.deps)).toBe(1);
        expect((await messageRows(server, c.id))[0]?.status).toBe("queued");
        await db.updateTable("messages").set({ status: "pending", leaseExpiresAt: past }).where("campaignId", "=", c.id).execute();
      } finally {
        await server.app.deps.fanout.start();
      }
      // Started again (as after a restart), the engine's supervisor re-queues the claim and, the
      // campaign's heartbeat being stale, queues the campaign: the recipient gets the push.
      await waitForStatus(server, c.id, "sent");
      const rows = await messageRows(server, c.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe("delivered");
      expect(peer.received.filter((r) => (r.payload as { messageId: string }).messageId === rows[0]!.id)).toHaveLength(1);
    });

    it("a small campaign of another project finishes while a big one is still sending", async () => {
      const sink = await startGatedSink();
      try {
        const big = await project();
        for (let i = 0; i < 40; i++) await registerSubscriber(server, big.apiKey, { ...peer.createSubscriber(), endpoint: sink.endpointFor(`b${i}`) });
        const small = await project();
        await subscribe(small.apiKey, peer, 3);
        sink.hold();
        const bigC = await createCampaign(server, owner, big.projectId);
        await waitFor("the big campaign in flight", async () => sink.heldCount > 0);
        const smallC = await createCampaign(server, owner, small.projectId);
        await waitForStatus(server, smallC.id, "sent");
        expect((await campaignRow(server, bigC.id)).status).toBe("sending");
        sink.release();
        await waitForStatus(server, bigC.id, "sent");
        expect(new Set(sink.paths).size).toBe(40);
        expect(sink.paths).toHaveLength(40);
      } finally {
        await sink.close();
      }
    });

    if (d.dialect === "postgres") {
      it("two engines on one database share a campaign without duplicates", async () => {
        const second = createApp({ database: server.database, config: server.config, clock });
        await second.deps.fanout.start();
        try {
          const { projectId, apiKey } = await project();
          await subscribe(apiKey, peer, 80);
          const c = await createCampaign(server, owner, projectId);
          await waitForStatus(server, c.id, "sent");
          const rows = await messageRows(server, c.id);
          expect(rows).toHaveLength(80);
          expect(new Set(rows.map((r) => r.subscriberId)).size).toBe(80);
          expect(rows.every((r) => r.status === "delivered")).toBe(true);
          const seen = receivedFor(peer, new Set(rows.map((r) => r.id)));
          expect(seen).toHaveLength(80);
        } finally {
          await second.deps.fanout.stop();
          await second.close();
        }
      });
    }
  });
}

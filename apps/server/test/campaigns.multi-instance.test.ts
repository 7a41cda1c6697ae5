import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markSuiteRan } from "@reachbell/db";
import { afterEach, expect, it } from "vitest";
import { SECRETS, type SlowPeer, createAudience, messageCounts, receivedPerRecipient, request, startSlowPeer, targetDatabase, until } from "./campaign-process-support";
import { startServer, stopServers } from "./process-support";
import { TEST_REDIS_URL, deleteKeys, describeWithRedis, uniquePrefix } from "./redis-support";

// Two real server processes (src/main.ts through tsx) on one PostgreSQL database and one Redis, as
// behind a load balancer. Both take part in one campaign's fan-out (the job queue hands batches to
// any instance); one is killed with SIGKILL mid-campaign and the other finishes it (SPEC §8: several
// instances share a campaign's work; a dead instance's batch is retried by another, within a minute):
// - both instances sent pushes before the kill (each push is attributed to the process whose socket
//   carried it, through /proc);
// - every audience member ends with exactly one message row, every recipient was reached, and
//   pushes beyond one per recipient are at most the rows claimed but not recorded at the kill
//   (the campaign's `pending` rows then, the survivor's included: an upper bound on the dead one's);
// - what was claimed and not yet pushed at the kill was pushed within a minute of it.

const RECIPIENTS = 3000;
const DELAY_MS = 100;
const TITLE = "multi-instance campaign";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stopServers();
  for (const f of cleanups.splice(0).reverse()) await f();
});

describeWithRedis(
  "a campaign shared by two server processes on PostgreSQL + Redis",
  () => {
    it("both instances send; one is SIGKILLed mid-campaign; the other finishes it: one row per recipient, all reached, duplicates within what was claimed", async () => {
      markSuiteRan("redis");
      const slow: SlowPeer = await startSlowPeer(0);
      const { peer } = slow;
      cleanups.push(() => peer.close());
      const target = await targetDatabase("postgres");
      cleanups.push(() => target.drop());
      const prefix = uniquePrefix("campaigns");
      cleanups.push(() => deleteKeys(TEST_REDIS_URL!, prefix));
      const cwd = mkdtempSync(join(tmpdir(), "reachbell-campaign-multi-"));
      cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
      const env = {
        ...SECRETS,
        JWT_SECRET: randomBytes(32).toString("hex"),
        PORT: "0",
        HOST: "127.0.0.1",
        DATABASE_URL: target.url,
        REDIS_URL: TEST_REDIS_URL!,
        REDIS_KEY_PREFIX: prefix,
        PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
        IN_FLIGHT_LEASE: "3s",
        // Smaller claims than the default: recorded more often, so the kill finds rows in every state.
        FANOUT_CHUNK_SIZE: "100",
        // One slice at a time per instance and two job chains per campaign: while one instance works
        // on a chain, the other chain's job can only be taken by the other instance.
        FANOUT_LANES: "1",
        FANOUT_CHAINS: "2",
        RATE_LIMIT_DEFAULT: "100000",
        RATE_LIMIT_INGEST: "100000",
        RATE_LIMIT_AUTH: "1000",
      };
      const [a, b] = [startServer(env, { cwd }), startServer(env, { cwd })];
      const [urlA, urlB] = await Promise.all([a.listening(), b.listening()]);
      slow.pids = [a.child.pid!, b.child.pid!];

      const { apiKey, projectId, bySubscriberId } = await createAudience(urlA, peer, RECIPIENTS);
      slow.delayMs = DELAY_MS;
      // Created through B, so neither "the instance that got the API call" nor "the other" is favoured by the order.
      const created = await request(
        `${urlB}/campaigns`,
        "POST",
        { projectId, name: "multi", content: { title: TITLE, body: "two instances" }, segment: { filters: {} }, schedule: { mode: "immediate" } },
        { "x-api-key": apiKey },
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const campaignId: string = created.body.id;

      // Both take part: wait until each process has carried pushes of this campaign, with most of the audience still to go.
      const sentBy = (pid: number) => slow.senders.filter((s, i) => s === pid && (peer.received[i]?.payload as { title?: string } | null)?.title === TITLE).length;
      await until(() => sentBy(a.child.pid!) > 0 && sentBy(b.child.pid!) > 0, 120_000, "pushes from both instances", 2);
      const beforeKill = { a: sentBy(a.child.pid!), b: sentBy(b.child.pid!) };
      // Kill the one that has sent more (it holds work), once a fifth of the audience has been reached.
      await until(() => receivedPerRecipient(peer, TITLE).size >= RECIPIENTS / 5, 120_000, "a fifth of the audience at the push service", 2);
      const watcher = target.open();
      try {
        await until(async () => ((await messageCounts(watcher, campaignId)).delivered ?? 0) > 0, 60_000, "deliveries recorded", 10);
      } finally {
        await watcher.destroy();
      }
      const [victim, survivor, survivorUrl] = sentBy(a.child.pid!) >= sentBy(b.child.pid!) ? [a, b, urlB] : [b, a, urlA];
      victim.child.kill("SIGKILL");
      const killedAt = Date.now();
      expect((await victim.exited).signal).toBe("SIGKILL");
      await until(() => slow.waiting === 0, 10_000, "the peer to handle what reached it");

      const database = target.open();
      try {
        const atKill = await messageCounts(database, campaignId);
        const claimedNotRecorded = atKill.pending ?? 0;
        const reachedAtKill = receivedPerRecipient(peer, TITLE);
        expect(reachedAtKill.size, JSON.stringify(atKill)).toBeLessThan(RECIPIENTS);
        expect(atKill.delivered ?? 0).toBeGreaterThan(0);
        expect(claimedNotRecorded, JSON.stringify(atKill)).toBeGreaterThan(0);
        slow.delayMs = 0;

        // What the dead instance had claimed and not yet pushed is taken over within a minute of the
        // kill (SPEC §8), not after a queue's lease of many minutes.
        const pendingAtKill = await database.db.selectFrom("messages").select("subscriberId").where("campaignId", "=", campaignId).where("status", "=", "pending").execute();
        const orphans = pendingAtKill.map((r) => bySubscriberId.get(r.subscriberId ?? "")!.id).filter((id) => !reachedAtKill.has(id));
        await until(() => orphans.every((id) => receivedPerRecipient(peer, TITLE).has(id)), Math.max(0, 60_000 - (Date.now() - killedAt)), `the ${orphans.length} claimed-but-unsent recipients reached within a minute of the kill`, 20);
        let campaign: any;
        await until(
          async () => {
            campaign = (await request(`${survivorUrl}/campaigns/${campaignId}`, "GET", undefined, { "x-api-key": apiKey })).body;
            return campaign.status === "sent";
          },
          120_000,
          "the survivor to finish the campaign",
          250,
        );
        expect(campaign.stats).toMatchObject({ audience: RECIPIENTS, delivered: RECIPIENTS, failed: 0, queued: 0 });
        // After the kill, only the survivor sent.
        expect(sentBy(survivor.child.pid!)).toBeGreaterThan(survivor === a ? beforeKill.a : beforeKill.b);

        const rows = await database.db.selectFrom("messages").select(["subscriberId", "status"]).where("campaignId", "=", campaignId).execute();
        const perSubscriber = new Map<string, number>();
        for (const r of rows) perSubscriber.set(r.subscriberId ?? "", (perSubscriber.get(r.subscriberId ?? "") ?? 0) + 1);
        expect(rows.length).toBe(RECIPIENTS);
        expect([...perSubscriber.keys()].sort()).toEqual([...bySubscriberId.keys()].sort());
        expect([...perSubscriber.values()].every((n) => n === 1)).toBe(true);
        expect(rows.filter((r) => r.status !== "delivered"), "every row delivered").toEqual([]);

        const received = receivedPerRecipient(peer, TITLE);
        const duplicates = [...received.values()].reduce((n, c) => n + (c - 1), 0);
        expect(duplicates, `duplicates (claimed but not recorded at the kill: ${claimedNotRecorded})`).toBeLessThanOrEqual(claimedNotRecorded);
        expect(Math.max(...received.values())).toBeLessThanOrEqual(2);
      } finally {
        await database.destroy();
      }
      await survivor.stop("SIGTERM");
    }, 300_000);
  },
  { postgres: true },
);

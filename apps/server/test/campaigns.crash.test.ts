import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testDialects } from "@reachbell/db";
import { afterEach, describe, expect, it } from "vitest";
import { SECRETS, type SlowPeer, createAudience, messageCounts, receivedPerRecipient, request, startSlowPeer, targetDatabase, until } from "./campaign-process-support";
import { startServer, stopServers } from "./process-support";

// The real server process (src/main.ts through tsx) killed with SIGKILL in the middle of a campaign's
// fan-out, then restarted on the same database (SPEC §8: a crash mid-campaign resumes where it
// stopped, within a minute of the restart, with no recipient missed and duplicates bounded by what
// was in flight):
// - every audience member ends with exactly one message row (read from the database);
// - every recipient received the campaign at least once at the push-service peer;
// - pushes beyond one per recipient are at most the rows the killed instance had claimed but not
//   recorded: the campaign's `pending` rows at the moment of the kill (a `queued` row has not been
//   sent; a `delivered`/`failed` row is recorded and never sent again);
// - the restarted instance resumed the fan-out within a minute of its start.
// The peer handles each push DELAY_MS late while the first instance runs, so the kill lands
// mid-campaign; the test waits for conditions, never for time.

const RECIPIENTS = 3000;
const DELAY_MS = 100;
const TITLE = "crash campaign";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await stopServers();
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe("campaign fan-out across a SIGKILL", () => {
  for (const d of testDialects()) {
    it.skipIf(!d.enabled)(
      `SIGKILL mid-campaign, restart on the same database: one message row per recipient, every recipient reached, duplicates within what was claimed, resumed within a minute [${d.dialect}]${d.enabled ? "" : ` (skipped: ${d.reason})`}`,
      async () => {
        const slow: SlowPeer = await startSlowPeer(DELAY_MS);
        const { peer } = slow;
        cleanups.push(() => peer.close());
        const target = await targetDatabase(d.dialect);
        cleanups.push(() => target.drop());
        const cwd = mkdtempSync(join(tmpdir(), "reachbell-campaign-cwd-"));
        cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
        const env = {
          ...SECRETS,
          PORT: "0",
          HOST: "127.0.0.1",
          DATABASE_URL: target.url,
          PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
          IN_FLIGHT_LEASE: "3s",
          // Smaller claims than the default: recorded more often, so the kill finds rows in every state.
          FANOUT_CHUNK_SIZE: "100",
          RATE_LIMIT_DEFAULT: "100000",
          RATE_LIMIT_INGEST: "100000",
          RATE_LIMIT_AUTH: "1000",
        };

        // ---- first life: the audience, then the campaign, killed once part of it has been delivered.
        const first = startServer(env, { cwd });
        let url = await first.listening();
        slow.delayMs = 0;
        const { apiKey, projectId, bySubscriberId } = await createAudience(url, peer, RECIPIENTS);
        slow.delayMs = DELAY_MS;
        const created = await request(
          `${url}/campaigns`,
          "POST",
          { projectId, name: "crash", content: { title: TITLE, body: "mid-campaign kill" }, segment: { filters: {} }, schedule: { mode: "immediate" } },
          { "x-api-key": apiKey },
        );
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const campaignId: string = created.body.id;
        // Mid-campaign: a fifth of the audience reached, and deliveries recorded in the database.
        await until(() => receivedPerRecipient(peer, TITLE).size >= RECIPIENTS / 5, 120_000, "a fifth of the audience at the push service", 2);
        const watcher = target.open();
        try {
          await until(async () => ((await messageCounts(watcher, campaignId)).delivered ?? 0) > 0, 60_000, "deliveries recorded", 10);
        } finally {
          await watcher.destroy();
        }
        first.child.kill("SIGKILL");
        expect((await first.exited).signal).toBe("SIGKILL");
        // Pushes that reached the peer before the kill are still handled (a push service delivers what it accepted).
        await until(() => slow.waiting === 0, 10_000, "the peer to handle what reached it");

        // ---- what the crash left in the database.
        let database = target.open();
        const atKill = await messageCounts(database, campaignId);
        await database.destroy();
        const claimedNotRecorded = atKill.pending ?? 0;
        const reachedAtKill = receivedPerRecipient(peer, TITLE);
        // The kill really was mid-campaign: some delivered and recorded, some not reached yet.
        expect(atKill.delivered ?? 0, JSON.stringify(atKill)).toBeGreaterThan(0);
        expect(reachedAtKill.size).toBeLessThan(RECIPIENTS);
        // …and with pushes in flight: rows claimed whose outcome the killed instance never wrote.
        expect(claimedNotRecorded, JSON.stringify(atKill)).toBeGreaterThan(0);

        // ---- second life on the same database, the peer at full speed.
        slow.delayMs = 0;
        const second = startServer(env, { cwd });
        url = await second.listening();
        const restartedAt = Date.now();
        const receivedAtRestart = peer.received.length;
        // Resumed within a minute of the restart (SPEC §8), not after a queue's lease of many minutes.
        await until(() => peer.received.length > receivedAtRestart, 60_000, "the first push after the restart", 20);
        const resumedAfterMs = Date.now() - restartedAt;
        let campaign: any;
        await until(
          async () => {
            campaign = (await request(`${url}/campaigns/${campaignId}`, "GET", undefined, { "x-api-key": apiKey })).body;
            return campaign.status === "sent";
          },
          180_000,
          "the campaign to be sent",
          250,
        );

        // ---- exactly one message row per audience member.
        database = target.open();
        try {
          const rows = await database.db.selectFrom("messages").select(["subscriberId", "status"]).where("campaignId", "=", campaignId).execute();
          const perSubscriber = new Map<string, number>();
          for (const r of rows) perSubscriber.set(r.subscriberId ?? "", (perSubscriber.get(r.subscriberId ?? "") ?? 0) + 1);
          expect(rows.length).toBe(RECIPIENTS);
          expect([...perSubscriber.keys()].sort()).toEqual([...bySubscriberId.keys()].sort());
          expect([...perSubscriber.values()].every((n) => n === 1)).toBe(true);
          expect(rows.filter((r) => r.status !== "delivered"), "every row delivered").toEqual([]);
        } finally {
          await database.destroy();
        }
        expect(campaign.stats).toMatchObject({ audience: RECIPIENTS, delivered: RECIPIENTS, failed: 0, queued: 0 });

        // ---- every recipient reached; duplicates within what the killed instance had claimed but not recorded.
        const received = receivedPerRecipient(peer, TITLE);
        const recipients = [...bySubscriberId.values()].map((s) => s.id);
        expect(recipients.filter((id) => !received.has(id)), "recipients never reached").toEqual([]);
        const duplicates = [...received.values()].reduce((n, c) => n + (c - 1), 0);
        expect(duplicates, `duplicates (claimed but not recorded at the kill: ${claimedNotRecorded}; resumed ${resumedAfterMs} ms after the restart)`).toBeLessThanOrEqual(claimedNotRecorded);
        expect(Math.max(...received.values())).toBeLessThanOrEqual(2);

        await second.stop("SIGTERM");
      },
      300_000,
    );
  }
});

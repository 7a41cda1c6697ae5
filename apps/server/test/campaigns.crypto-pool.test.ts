import { fileURLToPath } from "node:url";
import { testDialects } from "@reachbell/db";
import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedRecipient } from "../src/campaigns/claim";
import { CRYPTO_BATCH, createCryptoPool } from "../src/campaigns/crypto-pool";
import { loadRun } from "../src/campaigns/run-context";
import { sendChunk } from "../src/campaigns/send-chunk";
import { createCampaign, engineConfig, messageRows, stopEngine, waitForStatus } from "./campaigns-engine-support";
import { createProjectWithKey, registerSubscriber } from "./push-fixtures";
import { type Account, type TestServer, registerAccount, startServer } from "./support";

// Campaign payloads encrypted on worker threads (FANOUT_CRYPTO_THREADS): what a real push-service peer
// decrypts, and no recipient lost when a worker task fails or its thread dies.
for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`campaign crypto pool [${d.dialect}]`, () => {
    let server: TestServer;
    let peer: PushServicePeer;
    let owner: Account;

    beforeAll(async () => {
      peer = await startPushServicePeer();
      server = await startServer(d.dialect, engineConfig({ cryptoThreads: 2, chunkSize: 150, sendConcurrency: 8 }));
      owner = await registerAccount(server, "crypto");
      await server.app.deps.fanout.start();
    });
    afterAll(async () => {
      await stopEngine(server);
      await server.close();
      await peer.close();
    });

    const subscribe = async (apiKey: string, n: number) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const browser = peer.createSubscriber();
        out.push({ browser, sub: await registerSubscriber(server, apiKey, browser) });
      }
      return out;
    };

    it("a campaign encrypted on worker threads is decrypted by the push service peer, once per recipient", async () => {
      const { projectId, apiKey } = await createProjectWithKey(server, owner, { timezone: "UTC" });
      // More than one crypto task per chunk (CRYPTO_BATCH recipients each), on two threads.
      const n = CRYPTO_BATCH + 30;
      await subscribe(apiKey, n);
      const c = await createCampaign(server, owner, projectId);
      await waitForStatus(server, c.id, "sent", 60_000);
      const rows = await messageRows(server, c.id);
      expect(rows).toHaveLength(n);
      expect(rows.every((r) => r.status === "delivered" && r.pushStatus === 201)).toBe(true);
      const ids = new Set(rows.map((r) => r.id));
      const seen = peer.received.filter((r) => ids.has((r.payload as { messageId?: string }).messageId ?? ""));
      expect(seen).toHaveLength(n);
      expect(new Set(seen.map((r) => (r.payload as { messageId: string }).messageId)).size).toBe(n);
      expect(seen.every((r) => (r.payload as { title: string }).title === "Sale")).toBe(true);
    });

    it("a worker that dies or a task that throws loses no recipient: its batch is encrypted inline", async () => {
      const { projectId, apiKey } = await createProjectWithKey(server, owner, { timezone: "UTC" });
      const subs = await subscribe(apiKey, 3 * CRYPTO_BATCH);
      const draft = await createCampaign(server, owner, projectId, { schedule: { mode: "draft" } });
      const run = (await loadRun(server.app.deps, draft.id))!;
      // Batch 0 kills its worker thread, batch 1 throws in the worker, batch 2 is fine.
      const recipients: ClaimedRecipient[] = subs.map(({ browser, sub }, i) => ({
        messageId: `msg_crypto_${i}`,
        subscriberId: sub.id,
        payload: JSON.stringify({ title: "Pool", messageId: `msg_crypto_${i}`, ...(i === 3 ? { fail: "exit" } : i === CRYPTO_BATCH + 5 ? { fail: "throw" } : {}) }),
        attempts: "[]",
        endpoint: browser.endpoint,
        p256dh: browser.p256dh,
        auth: browser.auth,
      }));
      const pool = createCryptoPool({
        threads: 2,
        logger: server.app.deps.logger,
        worker: { filename: fileURLToPath(new URL("./fixtures/failing-crypto-worker.ts", import.meta.url)), execArgv: ["--import", "tsx"] },
      });
      try {
        const { finals, requeues } = await sendChunk(server.app.deps, { ...run, mode: "live" }, recipients, new Map(), pool);
        expect(requeues).toEqual([]);
        expect(finals).toHaveLength(recipients.length);
        expect(finals.every((f) => f.status === "delivered")).toBe(true);
        expect(pool.fallbacks).toBe(2); // batches 0 and 1 were redone inline; batch 2 came from a worker
        // The pool still works after losing a thread.
        const again = await sendChunk(server.app.deps, { ...run, mode: "live" }, recipients.slice(CRYPTO_BATCH * 2), new Map(), pool);
        expect(again.finals.every((f) => f.status === "delivered")).toBe(true);
        expect(pool.fallbacks).toBe(2);
      } finally {
        await pool.close();
      }
      const got = new Map<string, number>();
      for (const r of peer.received) {
        const id = (r.payload as { messageId?: string }).messageId ?? "";
        if (id.startsWith("msg_crypto_")) got.set(id, (got.get(id) ?? 0) + 1);
      }
      expect(got.size).toBe(recipients.length);
      for (let i = 0; i < CRYPTO_BATCH * 2; i++) expect(got.get(`msg_crypto_${i}`)).toBe(1);
    });
  });
}

// One slice of one campaign: the unit of work a queue job (or a local lane) runs. It stamps the
// heartbeat, then claims and sends chunks — materialising the next keyset batch when the queue runs
// dry — until its time budget is spent, and says what should happen next. Every step reads and
// writes the database only, so any instance can run the next slice of any campaign.

import type { Deps } from "../context";
import { keepLease, leaseUntil } from "../push/lease";
import { claimChunk } from "./claim";
import type { CryptoPool } from "./crypto-pool";
import { materialiseBatch } from "./materialise";
import { recordOutcomes } from "./outcomes";
import { loadRun } from "./run-context";
import { type OriginPauses, sendChunk } from "./send-chunk";

/** more: run again now (after other campaigns' slices); idle: nothing claimable yet, look again later; stop: not sending any more. */
export type SliceResult = { kind: "more" } | { kind: "idle"; delayMs: number } | { kind: "stop" };

export interface SliceContext {
  deps: Omit<Deps, "fanout">;
  pauses: OriginPauses;
  /** FANOUT_CRYPTO_THREADS > 0: the encryption pool; null encrypts on the event loop. */
  crypto: CryptoPool | null;
  /** True once the engine is stopping: finish the current chunk and hand the campaign back. */
  stopping(): boolean;
}

export async function runSlice(ctx: SliceContext, campaignId: string): Promise<SliceResult> {
  const { deps } = ctx;
  const cfg = deps.config.fanout;
  const started = Date.now();
  const run = await loadRun(deps, campaignId);
  if (!run) return { kind: "stop" };
  if (run.status !== "sending") {
    await settleCancelled(deps, campaignId);
    return { kind: "stop" };
  }
  await deps.database.db.updateTable("campaigns").set({ fanoutHeartbeatAt: deps.clock().toISOString() }).where("id", "=", campaignId).execute();
  let audienceDone = run.audienceDone;
  for (;;) {
    const claim = await claimChunk(deps, run, cfg.chunkSize);
    if (claim.kind === "stopped") {
      await settleCancelled(deps, campaignId);
      return { kind: "stop" };
    }
    if (claim.touched === 0) {
      if (!audienceDone) {
        const m = await materialiseBatch(deps, run, cfg.batchSize);
        if (m === "stopped") return { kind: "stop" };
        audienceDone = m === "done";
        if (m === "more" || (await hasClaimable(deps, campaignId))) continue;
      }
      if (await completeIfFinished(deps, campaignId)) return { kind: "stop" };
      // Only deferred (quiet hours, retry-after) or other instances' in-flight rows are left.
      return { kind: "idle", delayMs: cfg.pollMs };
    }
    if (claim.send.length > 0) {
      const ids = claim.send.map((r) => r.messageId);
      // A chunk normally takes far less than a lease; a slow push service must not let it run out.
      const stopRenewing = keepLease(deps, "campaign chunk", async () => {
        await deps.database.db.updateTable("messages").set({ leaseExpiresAt: leaseUntil(deps) }).where("id", "in", ids).where("status", "=", "pending").execute();
        return true;
      });
      try {
        const { finals, requeues } = await sendChunk(deps, run, claim.send, ctx.pauses, ctx.crypto);
        await recordOutcomes(deps, finals, requeues);
      } finally {
        stopRenewing();
      }
    }
    if (ctx.stopping() || Date.now() - started >= cfg.sliceMs) return { kind: "more" };
  }
}

async function hasClaimable(deps: Pick<Deps, "database" | "clock">, campaignId: string): Promise<boolean> {
  const nowIso = deps.clock().toISOString();
  const row = await deps.database.db
    .selectFrom("messages")
    .select("id")
    .where("campaignId", "=", campaignId)
    .where("status", "=", "queued")
    .where((eb) => eb.or([eb("notBefore", "is", null), eb("notBefore", "<=", nowIso)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** audience_done and nothing queued or pending → `sent`. One conditional statement: safe from any number of instances. */
export async function completeIfFinished(deps: Pick<Deps, "database" | "clock">, campaignId: string): Promise<boolean> {
  const iso = deps.clock().toISOString();
  const r = await deps.database.db
    .updateTable("campaigns")
    .set({ status: "sent", completedAt: iso, updatedAt: iso })
    .where("id", "=", campaignId)
    .where("status", "=", "sending")
    .where("audienceDone", "=", 1)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("messages")
            .select("messages.id")
            .where("messages.campaignId", "=", campaignId)
            .where("messages.status", "in", ["queued", "pending"]),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * A cancel turns queued rows into skipped/campaign_cancelled, but a row that was in flight then may
 * have gone back to the queue afterwards (a 429, an expired lease): give it the same outcome.
 */
export async function settleCancelled(deps: Pick<Deps, "database" | "clock">, campaignId: string): Promise<void> {
  const iso = deps.clock().toISOString();
  await deps.database.db
    .updateTable("messages")
    .set({ status: "skipped", reason: "campaign_cancelled", completedAt: iso, leaseExpiresAt: null })
    .where("campaignId", "=", campaignId)
    .where("status", "=", "queued")
    .where((eb) => eb.exists(eb.selectFrom("campaigns").select("campaigns.id").where("campaigns.id", "=", campaignId).where("campaigns.status", "=", "cancelled")))
    .execute();
}

// Claiming a chunk of a campaign's queued recipients and applying the delivery policy to them, in one
// transaction: the rows that may be sent leave it `pending` with a lease (the frequency-cap slot they
// hold from then on, exactly like a transactional send's pending row), the others get their outcome
// (skipped) or go back to the queue until their quiet hours end. PostgreSQL: FOR UPDATE SKIP LOCKED, so
// instances never claim the same row.

import type { Deps } from "../context";
import { capSlotsHeld, lockSubscribers } from "../push/deliver";
import { recipientVerdict } from "../push/delivery-policy";
import { leaseUntil } from "../push/lease";
import type { CampaignRun } from "./run-context";

export interface ClaimedRecipient {
  messageId: string;
  subscriberId: string;
  payload: string;
  /** JSON text: earlier attempts (a re-queued row carries them). */
  attempts: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export type ClaimResult = { kind: "stopped" } | { kind: "claimed"; send: ClaimedRecipient[]; /** rows taken from the queue: sent, settled or deferred */ touched: number };

export async function claimChunk(deps: Pick<Deps, "database" | "clock" | "config">, run: CampaignRun, size: number): Promise<ClaimResult> {
  const { db, dialect } = deps.database;
  const pg = dialect === "postgres";
  return db.transaction().execute(async (trx) => {
    // FOR SHARE: a pause or cancel waits for this claim to commit, and no claim starts after it.
    let cq = trx.selectFrom("campaigns").select("status").where("id", "=", run.id);
    if (pg) cq = cq.forShare();
    const c = await cq.executeTakeFirst();
    if (!c || c.status !== "sending") return { kind: "stopped" };
    const now = deps.clock();
    const nowIso = now.toISOString();
    let mq = trx
      .selectFrom("messages")
      .select(["id", "subscriberId", "payload", "attempts"])
      .where("campaignId", "=", run.id)
      .where("status", "=", "queued")
      .where((eb) => eb.or([eb("notBefore", "is", null), eb("notBefore", "<=", nowIso)]))
      .orderBy("id")
      .limit(size);
    if (pg) mq = mq.forUpdate().skipLocked();
    const rows = await mq.execute();
    if (rows.length === 0) return { kind: "claimed", send: [], touched: 0 };
    const subscriberIds = rows.map((r) => r.subscriberId).filter((s): s is string => s !== null);
    const subs = new Map(
      (await trx.selectFrom("subscribers").select(["id", "status", "timezone", "endpoint", "p256dh", "auth"]).where("id", "in", subscriberIds).execute()).map((s) => [s.id, s]),
    );

    const unsubscribed: string[] = [];
    const deferred = new Map<string, string[]>(); // not_before → message ids
    let candidates: (typeof rows)[number][] = [];
    for (const r of rows) {
      const s = r.subscriberId ? subs.get(r.subscriberId) : undefined;
      const verdict = s ? recipientVerdict(run.policy, s, run.project.timezone, now) : ({ kind: "unsubscribed" } as const);
      if (verdict.kind === "unsubscribed") unsubscribed.push(r.id);
      else if (verdict.kind === "quiet") {
        const key = verdict.until.toISOString();
        deferred.set(key, [...(deferred.get(key) ?? []), r.id]);
      } else candidates.push(r);
    }
    const capped: string[] = [];
    const cap = run.policy.frequencyCap;
    if (cap && candidates.length > 0) {
      // The same count a transactional send makes, under the same subscriber locks; these rows are still
      // `queued` here, so none counts against itself.
      const ids = candidates.map((r) => r.subscriberId as string);
      await lockSubscribers(deps, trx, ids);
      const held = await capSlotsHeld(deps, trx, ids, cap, now);
      candidates = candidates.filter((r) => {
        if ((held.get(r.subscriberId as string) ?? 0) < cap.max) return true;
        capped.push(r.id);
        return false;
      });
    }

    const skip = async (ids: string[], reason: string) => {
      if (ids.length === 0) return;
      await trx.updateTable("messages").set({ status: "skipped", reason, completedAt: nowIso, durationMs: 0, leaseExpiresAt: null }).where("id", "in", ids).execute();
    };
    await skip(unsubscribed, "subscriber_unsubscribed");
    await skip(capped, "frequency_capped");
    for (const [until, ids] of deferred) {
      await trx.updateTable("messages").set({ notBefore: until }).where("id", "in", ids).execute();
    }
    if (candidates.length > 0) {
      await trx
        .updateTable("messages")
        .set({ status: "pending", leaseExpiresAt: leaseUntil(deps) })
        .where("id", "in", candidates.map((r) => r.id))
        .execute();
    }
    const send = candidates.map((r) => {
      const s = subs.get(r.subscriberId as string)!;
      return { messageId: r.id, subscriberId: s.id, payload: r.payload, attempts: r.attempts, endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth };
    });
    return { kind: "claimed", send, touched: rows.length };
  });
}

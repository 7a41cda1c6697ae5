import { type AttemptRecord, type PushOutcome, type PushRequest, assemblePushRequest, buildPushRequest, classifySendResult, sendWithRetry } from "@reachbell/push";
import type { MessageStatus, ProjectsTable, SubscribersTable } from "@reachbell/db";
import { newId } from "@reachbell/db";
import type { Deps } from "../context";
import type { DeliveryPolicy } from "@reachbell/contract";
import type { DB } from "@reachbell/db";
import type { Transaction } from "kysely";
import { recipientVerdict } from "./delivery-policy";
import { keepLease, leaseMs, leaseUntil } from "./lease";

export type SendReason = "subscriber_not_found" | "subscriber_unsubscribed" | "frequency_capped" | "quiet_hours" | "provider_error";

export interface PushContent {
  title: string;
  body: string;
  url: string | null;
  iconUrl: string | null;
  imageUrl: string | null;
  badge: string | null;
}

export interface PushOptions {
  ttl?: number | undefined;
  urgency?: "very-low" | "low" | "normal" | "high" | undefined;
  topic?: string | undefined;
}

export interface DeliveryOutcome {
  subscriberId: string;
  messageId: string;
  delivered: boolean;
  deactivated: boolean;
  reason: SendReason | null;
}

/** What the service worker receives. Its size decides whether a push fits the 4,096-byte record. */
export function pushPayload(content: PushContent, messageId: string): string {
  return JSON.stringify({ ...content, messageId });
}

export type Project = Pick<ProjectsTable, "id" | "environment" | "timezone" | "vapidPublicKey" | "vapidPrivateKeyEnc">;
export type Subscriber = Pick<SubscribersTable, "id" | "endpoint" | "p256dh" | "auth" | "status" | "timezone">;

/**
 * Delivers one push to one subscriber: quiet hours, then a frequency-cap slot reserved inside a
 * transaction (the subscriber row is locked on PostgreSQL; SQLite serialises writers), so
 * concurrent sends cannot exceed the cap. The message row is written before any network call and
 * completed after it, so nothing accepted is lost. Sandbox projects build the encrypted request
 * but never send it.
 *
 * A pending row holds a lease (renewed while the push runs): only an unexpired pending row holds a
 * cap slot, so what a crashed instance left pending never blocks sends, and settleInterrupted()
 * gives it its final outcome once the lease has passed.
 */
export async function deliverToSubscriber(
  deps: Deps,
  project: Project,
  policy: DeliveryPolicy,
  subscriber: Subscriber,
  content: PushContent,
  options: PushOptions,
  kind: "transactional" | "campaign" = "transactional",
): Promise<DeliveryOutcome> {
  const db = deps.database.db;
  const now = deps.clock();
  const messageId = newId("msg");
  const payload = pushPayload(content, messageId);
  const mode = project.environment === "sandbox" ? "sandbox" : "live";
  const base = { id: messageId, projectId: project.id, subscriberId: subscriber.id, kind, mode, payload, pushStatus: null, attempts: "[]", createdAt: now.toISOString(), leaseExpiresAt: null } as const;
  const result = (delivered: boolean, reason: SendReason | null, deactivated = false): DeliveryOutcome => ({ subscriberId: subscriber.id, messageId, delivered, deactivated, reason });
  const skip = async (reason: SendReason) => {
    await db.insertInto("messages").values({ ...base, status: "skipped", reason, completedAt: now.toISOString(), durationMs: 0 }).execute();
    return result(false, reason);
  };

  const verdict = recipientVerdict(policy, subscriber, project.timezone, now);
  if (verdict.kind === "unsubscribed") return skip("subscriber_unsubscribed");
  // Transactional sends are immediate: quiet hours skip them (a campaign defers instead).
  if (verdict.kind === "quiet") return skip("quiet_hours");

  const cap = policy.frequencyCap;
  const reserved = await db.transaction().execute(async (trx) => {
    if (cap) {
      await lockSubscribers(deps, trx, [subscriber.id]);
      const used = await capSlotsHeld(deps, trx, [subscriber.id], cap, now);
      if ((used.get(subscriber.id) ?? 0) >= cap.max) return false;
    }
    await trx.insertInto("messages").values({ ...base, status: "pending", reason: null, completedAt: null, durationMs: null, leaseExpiresAt: leaseUntil(deps) }).execute();
    return true;
  });
  if (!reserved) return skip("frequency_capped");

  const stopRenewing = keepLease(deps, "pending message", async () => {
    const r = await db.updateTable("messages").set({ leaseExpiresAt: leaseUntil(deps) }).where("id", "=", messageId).where("status", "=", "pending").executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  });
  const started = Date.now();
  let status: MessageStatus;
  let reason: SendReason | null = null;
  let deactivated = false;
  let pushStatus: number | null = null;
  let attempts: AttemptRecord[] = [];
  try {
    const request = buildRequest(deps, project, subscriber, payload, options);
    if (mode === "sandbox") {
      status = "simulated";
    } else {
      const delivery = await sendWithRetry(deps.push.sender, request);
      attempts = delivery.attempts;
      pushStatus = delivery.status;
      ({ status, reason, deactivated } = interpret(delivery.outcome));
    }
  } catch (e) {
    // A stored subscription the push library refuses (corrupt keys): a provider-side failure for this message.
    deps.logger.warn("push build failed", { messageId, error: e instanceof Error ? e.message : String(e) });
    status = "failed";
    reason = "provider_error";
  } finally {
    stopRenewing();
  }
  const completedAt = deps.clock().toISOString();
  // Unconditional: even if this instance stalled past its lease and a sweep settled the row, the real outcome wins.
  await db
    .updateTable("messages")
    .set({ status, reason, pushStatus, attempts: JSON.stringify(attempts.map(toAttempt)), completedAt, durationMs: Date.now() - started, leaseExpiresAt: null })
    .where("id", "=", messageId)
    .execute();
  if (deactivated) {
    await db.updateTable("subscribers").set({ status: "expired", updatedAt: completedAt }).where("id", "=", subscriber.id).execute();
  }
  return result(status === "delivered" || status === "simulated", reason, deactivated);
}

export function interpret(outcome: PushOutcome): { status: MessageStatus; reason: SendReason | null; deactivated: boolean } {
  if (outcome === "delivered") return { status: "delivered", reason: null, deactivated: false };
  // 404/410: the subscription is gone for good.
  if (outcome === "gone") return { status: "failed", reason: "provider_error", deactivated: true };
  return { status: "failed", reason: "provider_error", deactivated: false };
}

export function toAttempt(a: AttemptRecord) {
  return { at: new Date(a.at).toISOString(), status: a.status, error: a.error ?? null, durationMs: a.durationMs };
}

/** The encrypted, signed request for one recipient (throws on a subscription the push library refuses). */
export function buildRequest(deps: Pick<Deps, "push">, project: Project, subscriber: Pick<Subscriber, "endpoint" | "p256dh" | "auth">, payload: string, options: PushOptions): PushRequest {
  return buildPushRequest({
    subscription: subscriber,
    payload,
    vapid: deps.push.vapid.forProject(project),
    ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
    ...(options.urgency ? { urgency: options.urgency } : {}),
    ...(options.topic ? { topic: options.topic } : {}),
  });
}

/** The same request around a body encrypted elsewhere (the campaign crypto pool): headers and the cached VAPID authorization. */
export function assembleRequest(deps: Pick<Deps, "push">, project: Project, subscriber: Pick<Subscriber, "endpoint">, body: Buffer, options: PushOptions): PushRequest {
  return assemblePushRequest(
    {
      subscription: subscriber,
      vapid: deps.push.vapid.forProject(project),
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
      ...(options.urgency ? { urgency: options.urgency } : {}),
      ...(options.topic ? { topic: options.topic } : {}),
    },
    body,
  );
}

/**
 * PostgreSQL: locks the subscribers' rows (in id order, so concurrent lockers never deadlock) for
 * the rest of `trx`, so a frequency-cap count and the slot it grants commit together. SQLite
 * serialises writers already.
 */
export async function lockSubscribers(deps: Pick<Deps, "database">, trx: Transaction<DB>, ids: readonly string[]): Promise<void> {
  if (deps.database.dialect !== "postgres" || ids.length === 0) return;
  await trx.selectFrom("subscribers").select("id").where("id", "in", [...ids].sort()).orderBy("id").forUpdate().execute();
}

/**
 * Frequency-cap slots each subscriber holds now in the window: pushes delivered or simulated in it,
 * plus pending sends whose lease is running (in flight on some instance). A campaign row is created
 * long before it is sent, so delivered rows count by completion time. `excludeIds`: rows the caller
 * itself holds (a campaign's own claimed row must not count against itself).
 */
export async function capSlotsHeld(
  deps: Pick<Deps, "config">,
  trx: Transaction<DB>,
  subscriberIds: readonly string[],
  cap: { windowSeconds: number },
  now: Date,
  excludeIds: readonly string[] = [],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (subscriberIds.length === 0) return out;
  const since = new Date(now.getTime() - cap.windowSeconds * 1000).toISOString();
  const nowIso = now.toISOString();
  // Rows from before leases existed (null lease) hold their slot for one lease from creation.
  const legacyHeldSince = new Date(now.getTime() - leaseMs(deps)).toISOString();
  let q = trx
    .selectFrom("messages")
    .select((eb) => ["subscriberId", eb.fn.countAll<number>().as("n")])
    .where("subscriberId", "in", [...subscriberIds])
    .where((eb) =>
      eb.or([
        eb.and([eb("status", "in", ["delivered", "simulated"]), eb("completedAt", ">", since)]),
        eb.and([
          eb("status", "=", "pending"),
          eb.or([eb("leaseExpiresAt", ">", nowIso), eb.and([eb("leaseExpiresAt", "is", null), eb("createdAt", ">", legacyHeldSince)])]),
        ]),
      ]),
    )
    .groupBy("subscriberId");
  if (excludeIds.length > 0) q = q.where("id", "not in", [...excludeIds]);
  for (const r of await q.execute()) if (r.subscriberId) out.set(r.subscriberId, Number(r.n));
  return out;
}

/** One attempt's result as the campaign sender records it: final, or to be retried later. */
export type SingleAttempt =
  | { final: true; status: MessageStatus; reason: SendReason | "subscription_expired" | null; deactivated: boolean; pushStatus: number | null; attempt: ReturnType<typeof toAttempt> }
  | { final: false; retryAfterMs: number | null; pushStatus: number | null; attempt: ReturnType<typeof toAttempt> };

/**
 * One attempt, no waiting: a campaign never sleeps on a throttled push service (its row is re-queued
 * for later instead, so other recipients keep going). Same classification as sendWithRetry.
 */
export async function sendOnce(deps: Pick<Deps, "push">, request: PushRequest): Promise<SingleAttempt> {
  const at = Date.now();
  const result = await deps.push.sender.send(request);
  const attempt = toAttempt({ status: result.status, durationMs: result.durationMs, at, ...(result.error ? { error: result.error } : {}) });
  const verdict = classifySendResult(result, Date.now());
  if (!verdict.final) return { final: false, retryAfterMs: verdict.retryAfterMs, pushStatus: result.status, attempt };
  const { status, reason, deactivated } = interpret(verdict.outcome);
  return { final: true, status, reason: deactivated ? "subscription_expired" : reason, deactivated, pushStatus: result.status, attempt };
}

import { type AttemptRecord, type PushOutcome, buildPushRequest, sendWithRetry } from "@reachbell/push";
import type { MessageStatus, ProjectsTable, SubscribersTable } from "@reachbell/db";
import { newId } from "@reachbell/db";
import type { Deps } from "../context";
import type { DeliveryPolicy } from "@reachbell/contract";
import { inQuietHours } from "./delivery-policy";
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

type Project = Pick<ProjectsTable, "id" | "environment" | "timezone" | "vapidPublicKey" | "vapidPrivateKeyEnc">;
type Subscriber = Pick<SubscribersTable, "id" | "endpoint" | "p256dh" | "auth" | "status" | "timezone">;

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

  if (subscriber.status !== "active") return skip("subscriber_unsubscribed");
  if (inQuietHours(policy, now, subscriber.timezone ?? project.timezone)) return skip("quiet_hours");

  const cap = policy.frequencyCap;
  const reserved = await db.transaction().execute(async (trx) => {
    if (cap) {
      if (deps.database.dialect === "postgres") {
        await trx.selectFrom("subscribers").select("id").where("id", "=", subscriber.id).forUpdate().execute();
      }
      const since = new Date(now.getTime() - cap.windowSeconds * 1000).toISOString();
      const nowIso = now.toISOString();
      // Rows from before leases existed (null lease) hold their slot for one lease from creation.
      const legacyHeldSince = new Date(now.getTime() - leaseMs(deps)).toISOString();
      const row = await trx
        .selectFrom("messages")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("subscriberId", "=", subscriber.id)
        .where("createdAt", ">", since)
        .where((eb) =>
          eb.or([
            eb("status", "in", ["delivered", "simulated"]),
            eb.and([
              eb("status", "=", "pending"),
              eb.or([eb("leaseExpiresAt", ">", nowIso), eb.and([eb("leaseExpiresAt", "is", null), eb("createdAt", ">", legacyHeldSince)])]),
            ]),
          ]),
        )
        .executeTakeFirst();
      if (Number(row?.n ?? 0) >= cap.max) return false;
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
    const request = buildPushRequest({
      subscription: subscriber,
      payload,
      vapid: deps.push.vapid.forProject(project),
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
      ...(options.urgency ? { urgency: options.urgency } : {}),
      ...(options.topic ? { topic: options.topic } : {}),
    });
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

function interpret(outcome: PushOutcome): { status: MessageStatus; reason: SendReason | null; deactivated: boolean } {
  if (outcome === "delivered") return { status: "delivered", reason: null, deactivated: false };
  // 404/410: the subscription is gone for good.
  if (outcome === "gone") return { status: "failed", reason: "provider_error", deactivated: true };
  return { status: "failed", reason: "provider_error", deactivated: false };
}

function toAttempt(a: AttemptRecord) {
  return { at: new Date(a.at).toISOString(), status: a.status, error: a.error ?? null, durationMs: a.durationMs };
}

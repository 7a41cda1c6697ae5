import { fitsPushLimit } from "@reachbell/push";
import type { AuthState } from "../auth/principal";
import type { Context } from "../context";
import { DomainError } from "../errors";
import { type DeliveryOutcome, type PushContent, deliverToSubscriber, pushPayload } from "../push/deliver";
import { parseDeliveryPolicy } from "../push/delivery-policy";
import { readIdempotencyKey, withIdempotency } from "./idempotency";

export interface SendInput {
  externalId?: string | undefined;
  token?: string | undefined;
  title: string;
  body: string;
  url?: string | undefined;
  iconUrl?: string | undefined;
  imageUrl?: string | undefined;
  badge?: string | undefined;
  ttl?: number | undefined;
  urgency?: "very-low" | "low" | "normal" | "high" | undefined;
  topic?: string | undefined;
}

/** A user (externalId) rarely has more than a few browsers; past this many, the newest get the push. */
const MAX_SUBSCRIBERS_PER_USER = 100;
const PARALLEL_SENDS = 10;

export async function send(ctx: Context & { auth: AuthState }, input: SendInput) {
  const project = ctx.auth.project;
  if (!project) throw new Error("transactional send needs an API-key principal");
  const key = readIdempotencyKey(ctx.headers);
  const content: PushContent = {
    title: input.title,
    body: input.body,
    url: input.url ?? null,
    iconUrl: input.iconUrl ?? null,
    imageUrl: input.imageUrl ?? null,
    badge: input.badge ?? null,
  };
  // Checked before anything is written: message ids have a fixed length, so one sample decides.
  const size = Buffer.byteLength(pushPayload(content, "msg_00000000000000000000000000"));
  if (!fitsPushLimit(size)) throw new DomainError("PUSH_PAYLOAD_TOO_LARGE");

  const { result, replayed } = await withIdempotency(ctx.deps, project.id, key, input, () => sendNow(ctx, project.id, input, content));
  if (replayed) ctx.responseHeaders["Idempotent-Replayed"] = "true";
  return result;
}

async function sendNow(ctx: Context, projectId: string, input: SendInput, content: PushContent) {
  const db = ctx.deps.database.db;
  const project = await db.selectFrom("projects").selectAll().where("id", "=", projectId).executeTakeFirstOrThrow();
  const sandbox = project.environment === "sandbox";
  let q = db.selectFrom("subscribers").select(["id", "endpoint", "p256dh", "auth", "status", "timezone"]).where("projectId", "=", projectId);
  q = input.token !== undefined ? q.where("token", "=", input.token) : q.where("externalId", "=", input.externalId ?? "");
  const subscribers = await q.orderBy("id", "desc").limit(MAX_SUBSCRIBERS_PER_USER).execute();

  const envelope = (found: boolean, outcomes: DeliveryOutcome[], fallbackReason: DeliveryOutcome["reason"]) => {
    const delivered = outcomes.find((o) => o.delivered);
    const first = delivered ?? outcomes[0];
    return {
      success: !!delivered,
      subscriberFound: found,
      delivered: !!delivered,
      deactivated: outcomes.some((o) => o.deactivated),
      reason: delivered ? null : (first?.reason ?? fallbackReason),
      messageId: first?.messageId ?? null,
      sandbox,
      deliveries: outcomes,
    };
  };
  if (subscribers.length === 0) return envelope(false, [], "subscriber_not_found");
  // By externalId the push goes to the user's active subscribers; inactive ones are only reported when none is active.
  const active = subscribers.filter((s) => s.status === "active");
  const targets = input.token !== undefined || active.length === 0 ? subscribers.slice(0, 1) : active;
  const policy = parseDeliveryPolicy(project.deliveryPolicy);
  const options = { ttl: input.ttl, urgency: input.urgency, topic: input.topic };
  const outcomes: DeliveryOutcome[] = [];
  for (let i = 0; i < targets.length; i += PARALLEL_SENDS) {
    const batch = targets.slice(i, i + PARALLEL_SENDS);
    outcomes.push(...(await Promise.all(batch.map((s) => deliverToSubscriber(ctx.deps, project, policy, s, content, options)))));
  }
  return envelope(true, outcomes, null);
}

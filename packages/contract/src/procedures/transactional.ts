import { z } from "zod";
import { defineProcedure } from "../define";
import { idOf, storable, text, timestamp } from "../schemas";

export const SEND_REASONS = ["subscriber_not_found", "subscriber_unsubscribed", "frequency_capped", "quiet_hours", "provider_error"] as const;
/** A stored message's reasons: a send's, plus the campaign-only ones. */
export const MESSAGE_REASONS = [...SEND_REASONS, "campaign_cancelled", "subscription_expired"] as const;
export const MESSAGE_STATUSES = ["queued", "pending", "delivered", "simulated", "failed", "skipped"] as const;

const httpsUrl = storable(z.url({ protocol: /^https?$/ })).max(2048);

export const sendInput = z
  .object({
    externalId: text().trim().min(1).max(200).optional(),
    token: text().min(1).max(64).optional(),
    title: text().min(1).max(1000),
    body: text().max(4096),
    url: httpsUrl.optional(),
    iconUrl: httpsUrl.optional(),
    imageUrl: httpsUrl.optional(),
    badge: httpsUrl.optional(),
    ttl: z.number().int().min(0).max(2_419_200).optional().meta({ description: "Seconds the push service may keep the message (default 86400)" }),
    urgency: z.enum(["very-low", "low", "normal", "high"]).optional(),
    topic: text().regex(/^[A-Za-z0-9_-]{1,32}$/, "1-32 characters of the base64url alphabet").optional(),
  })
  .refine((v) => (v.externalId === undefined) !== (v.token === undefined), {
    message: "Give exactly one of externalId or token",
    path: ["externalId"],
  })
  .meta({
    // What the /docs playground pre-fills: a valid request (exactly one recipient, https URL).
    example: { token: "tok_01HX0000000000000000000000", title: "Your order has shipped", body: "Order #1042 is on its way.", url: "https://shop.example.com/orders/1042" },
  });

export const deliverySchema = z.object({
  subscriberId: z.string(),
  messageId: z.string(),
  delivered: z.boolean(),
  deactivated: z.boolean(),
  reason: z.enum(SEND_REASONS).nullable(),
});

export const sendResultSchema = z.object({
  success: z.boolean(),
  subscriberFound: z.boolean(),
  delivered: z.boolean(),
  deactivated: z.boolean(),
  reason: z.enum(SEND_REASONS).nullable(),
  messageId: z.string().nullable(),
  sandbox: z.boolean(),
  deliveries: z.array(deliverySchema).meta({ description: "One entry per subscriber the push went to (several when an externalId has several active subscribers)" }),
});

export const send = defineProcedure({
  operationId: "transactional.send",
  summary: "Send one push to a subscriber (by token) or to a user's active subscribers (by externalId)",
  description:
    "Give exactly one recipient: `token` (one subscriber) or `externalId` (every active subscriber of that user in the project); both or neither is 422. The outcome of each push is in `deliveries`; with an `rb_test_` key nothing is sent (`sandbox: true`).",
  exactlyOneOf: ["externalId", "token"],
  tags: ["transactional"],
  rest: { method: "POST", path: "/transactional/send" },
  auth: { accepts: ["apiKey"] },
  rateLimit: "ingest",
  headers: [{ name: "Idempotency-Key", required: false, description: "Replays the first response for 24 h instead of sending again" }],
  input: sendInput,
  output: sendResultSchema,
});

export const attemptSchema = z.object({
  at: timestamp,
  status: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
});

export const messageSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  subscriberId: z.string().nullable(),
  kind: z.enum(["transactional", "campaign"]),
  campaignId: z.string().nullable().meta({ description: "The campaign this message belongs to (null for a transactional send)" }),
  sandbox: z.boolean(),
  status: z.enum(MESSAGE_STATUSES).meta({ description: "`queued`: a campaign recipient not sent yet" }),
  reason: z.enum(MESSAGE_REASONS).nullable(),
  pushStatus: z.number().int().nullable(),
  payload: z.object({
    title: z.string(),
    body: z.string(),
    url: z.string().nullable(),
    iconUrl: z.string().nullable(),
    imageUrl: z.string().nullable(),
    badge: z.string().nullable(),
    messageId: z.string(),
  }),
  attempts: z.array(attemptSchema),
  createdAt: timestamp,
  completedAt: timestamp.nullable(),
  durationMs: z.number().nullable(),
});

export const getMessage = defineProcedure({
  operationId: "messages.get",
  summary: "One message and its outcome",
  tags: ["messages"],
  rest: { method: "GET", path: "/messages/{id}" },
  auth: { accepts: ["apiKey", "member", "tenant", "partnerTenant"], role: "VIEWER" },
  input: z.object({ id: idOf("msg_") }),
  output: messageSchema,
});

import { z } from "zod";
import { defineProcedure } from "../define";
import {
  MAX_TAGS_PER_SUBSCRIBER,
  authSecretSchema,
  checkSubscriptionKeys,
  citySchema,
  countrySchema,
  endpointSchema,
  externalIdSchema,
  languageSchema,
  p256dhSchema,
  subscriberSchema,
  subscriberStatusSchema,
  subscriptionExpirationTimeSchema,
  subscriptionKeysSchema,
  tagSchema,
  timezoneSchema,
} from "../resources";
import { idOf, page, paginationInput, text } from "../schemas";

// Subscribers: registered and labelled with a project API key (the browser SDK or your backend);
// read and unsubscribed by the API key or by the organization's dashboard principals.
// Order matters: trpc-to-openapi matches first-declared-wins, so static paths come before `/subscribers/{id}`.

const projectId = idOf("proj_");
const subscriberId = idOf("sub_");
const tokenSchema = text().trim().min(1).max(64).meta({ description: "The subscriber's token (tok_…)" });

export const register = defineProcedure({
  operationId: "subscribers.register",
  summary: "Register a web-push subscription; the same endpoint again answers 409 with the existing subscriber (or reactivates it when unsubscribed/expired)",
  tags: ["subscribers"],
  rest: { method: "POST", path: "/subscribers" },
  auth: { accepts: ["apiKey"], publishable: {} },
  rateLimit: "ingest",
  successStatus: 201,
  input: z
    .object({
      projectId: projectId.optional().meta({ description: "Defaults to the API key's project; any other project is 403" }),
      endpoint: endpointSchema,
      p256dh: p256dhSchema.optional().meta({ description: "Flat form of keys.p256dh (give either p256dh and auth, or keys)" }),
      auth: authSecretSchema.optional().meta({ description: "Flat form of keys.auth (give either p256dh and auth, or keys)" }),
      keys: subscriptionKeysSchema.optional(),
      expirationTime: subscriptionExpirationTimeSchema,
      userAgent: text().max(1024).optional().meta({ description: "navigator.userAgent: browser, OS and device type are derived from it" }),
      timezone: timezoneSchema.optional(),
      language: languageSchema.optional(),
      country: countrySchema.optional().meta({ description: "ISO 3166-1 alpha-2 (stored uppercase); wins over the geo-IP guess from the client IP" }),
      city: citySchema.optional().meta({ description: "Wins over the geo-IP guess from the client IP" }),
    })
    .meta({ description: "A PushSubscription as its toJSON() gives it ({endpoint, expirationTime, keys: {p256dh, auth}}), or with p256dh and auth flat" })
    .superRefine(checkSubscriptionKeys),
  output: subscriberSchema,
});

export const identify = defineProcedure({
  operationId: "subscribers.identify",
  summary: "Attach your user id (externalId) to a subscriber",
  description:
    "With a publishable key on a project that verifies identities (`identityVerification`), `identityToken` is required: the hex HMAC-SHA256 of `externalId` " +
    "under the project's identity secret, computed by your backend. Missing or wrong: 403 and nothing changes. Full-scope keys identify without it.",
  tags: ["subscribers"],
  rest: { method: "POST", path: "/subscribers/identify" },
  auth: { accepts: ["apiKey"], publishable: {} },
  rateLimit: "ingest",
  input: z.object({
    token: tokenSchema,
    externalId: externalIdSchema,
    identityToken: text().trim().max(128).optional().meta({ description: "hex HMAC-SHA256(identity secret, externalId); required from a publishable key when the project verifies identities" }),
  }),
  output: subscriberSchema,
});

const tagList = z.array(tagSchema).max(MAX_TAGS_PER_SUBSCRIBER);

export const tags = defineProcedure({
  operationId: "subscribers.tags",
  summary: `Add and remove tags (≤ 64 characters, ≤ ${MAX_TAGS_PER_SUBSCRIBER} per subscriber; over the limit is 422 and nothing changes). With externalId, applies to every subscriber of that user in the project.`,
  tags: ["subscribers"],
  rest: { method: "POST", path: "/subscribers/tags" },
  exactlyOneOf: ["token", "externalId"],
  description: "A publishable key addresses only the subscription it holds, by `token`: `externalId` from a publishable key is 403.",
  // A page holds one subscription (its token); by externalId it could relabel any user's subscribers.
  auth: { accepts: ["apiKey"], publishable: { refuse: ["externalId"] } },
  rateLimit: "ingest",
  input: z
    .object({
      token: tokenSchema.optional(),
      externalId: externalIdSchema.optional(),
      add: tagList.optional(),
      remove: tagList.optional(),
    })
    .refine((v) => (v.token === undefined) !== (v.externalId === undefined), { message: "Give exactly one of token or externalId", path: ["token"] }),
  output: subscriberSchema.extend({
    matched: z.number().int().meta({ description: "How many subscribers the change applied to (several when addressed by externalId); the body is the most recently created of them" }),
  }),
});

export const unsubscribeByToken = defineProcedure({
  operationId: "subscribers.unsubscribeByToken",
  summary: "Unsubscribe the subscriber holding this token (what the browser SDK calls; the subscriber stays, with status unsubscribed)",
  tags: ["subscribers"],
  rest: { method: "POST", path: "/subscribers/unsubscribe" },
  // By token, the handle only the subscription's own browser (or your backend) has: a publishable key may use this, not DELETE /subscribers/{id}.
  auth: { accepts: ["apiKey"], publishable: {} },
  rateLimit: "ingest",
  input: z.object({ token: tokenSchema }),
  output: subscriberSchema,
});

export const list = defineProcedure({
  operationId: "subscribers.list",
  summary: "Subscribers of a project, oldest first, filtered by status, tag or externalId",
  tags: ["subscribers"],
  rest: { method: "GET", path: "/subscribers/project/{projectId}" },
  auth: { accepts: ["apiKey", "member", "tenant", "partnerTenant"], role: "VIEWER" },
  rateLimit: "ingest",
  input: z.object({
    projectId,
    ...paginationInput,
    status: subscriberStatusSchema.optional(),
    tag: tagSchema.optional(),
    externalId: externalIdSchema.optional(),
  }),
  output: page(subscriberSchema),
});

export const get = defineProcedure({
  operationId: "subscribers.get",
  summary: "Read one subscriber",
  tags: ["subscribers"],
  rest: { method: "GET", path: "/subscribers/{id}" },
  auth: { accepts: ["apiKey", "member", "tenant", "partnerTenant"], role: "VIEWER" },
  rateLimit: "ingest",
  input: z.object({ id: subscriberId }),
  output: subscriberSchema,
});

export const unsubscribe = defineProcedure({
  operationId: "subscribers.unsubscribe",
  summary: "Unsubscribe: the subscriber stays, with status unsubscribed, and receives nothing more",
  tags: ["subscribers"],
  rest: { method: "DELETE", path: "/subscribers/{id}" },
  auth: { accepts: ["apiKey", "member", "tenant", "partnerTenant"], role: "MEMBER" },
  rateLimit: "ingest",
  input: z.object({ id: subscriberId }),
  output: subscriberSchema,
});

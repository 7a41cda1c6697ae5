import { z } from "zod";
import { API_KEY_SCOPES } from "./define";
import { canonicalized, projectRateLimitsSchema, storable, text, timestamp } from "./schemas";

// Projects, API keys and subscribers: the shapes and field rules shared by their procedures.
// Only syntax is checked here (the contract stays free of node:crypto and the database); the server
// adds what needs them (the P-256 point lies on the curve, the endpoint host is public).

let knownZones: Set<string> | undefined;

/** True for an IANA time zone name (canonical or a legacy alias the runtime knows), e.g. `Europe/Paris`, `UTC`. */
export function isIanaTimeZone(tz: string): boolean {
  knownZones ??= new Set([...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/UTC"]);
  if (knownZones.has(tz)) return true;
  // Aliases (Asia/Calcutta, US/Eastern) are names too; offsets like "+05:00" are not.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Column width of `projects.timezone` and `subscribers.timezone`. */
export const MAX_TIMEZONE_LENGTH = 64;
/** Column width of `subscribers.language` (BCP 47's recommended minimum buffer). */
export const MAX_LANGUAGE_LENGTH = 35;

/** An IANA time zone name, stored in the runtime's canonical spelling (`europe/paris` → `Europe/Paris`, `US/Eastern` → `America/New_York`). */
export const timezoneSchema = canonicalized(
  text().trim().max(MAX_TIMEZONE_LENGTH),
  (tz) => (!isIanaTimeZone(tz) ? undefined : knownZones?.has(tz) ? tz : new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone),
  { maxLength: MAX_TIMEZONE_LENGTH, invalid: "Must be an IANA time zone name, e.g. Europe/Paris or UTC" },
).meta({ example: "Europe/Paris" });

// Subscribers of one site send few distinct languages; Intl canonicalisation is slow enough to memoise.
const localeMemo = new Map<string, string | null>();
function canonicalLocale(tag: string): string | undefined {
  let canonical = localeMemo.get(tag);
  if (canonical === undefined) {
    try {
      canonical = Intl.getCanonicalLocales(tag)[0] ?? null;
    } catch {
      canonical = null;
    }
    if (localeMemo.size >= 1_000) localeMemo.clear();
    localeMemo.set(tag, canonical);
  }
  return canonical ?? undefined;
}

/** A BCP 47 language tag, stored canonically (`en-us` → `en-US`); the canonical form can be longer
 *  (`sh` → `sr-Latn`, `…-u-ca-islamicc` → `…-u-ca-islamic-civil`), so its length is checked after. */
export const languageSchema = canonicalized(text().trim().min(2).max(MAX_LANGUAGE_LENGTH), canonicalLocale, {
  maxLength: MAX_LANGUAGE_LENGTH,
  invalid: "Must be a BCP 47 language tag, e.g. en-US",
}).meta({ example: "en-US" });

// ISO 3166-1 alpha-2 codes Intl knows as regions, minus the ones that are not countries (EU, UN…).
const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"]);
export const isCountryCode = (code: string): boolean => /^[A-Z]{2}$/.test(code) && !NOT_COUNTRIES.has(code) && regionNames.of(code) !== code;
export const MAX_CITY_LENGTH = 128;
/** An ISO 3166-1 alpha-2 country code, stored uppercase (`fr` → `FR`). */
export const countrySchema = canonicalized(text().trim().length(2), (c) => (isCountryCode(c.toUpperCase()) ? c.toUpperCase() : undefined), {
  maxLength: 2,
  invalid: "Must be an ISO 3166-1 alpha-2 country code, e.g. FR",
}).meta({ example: "FR" });
export const citySchema = text().trim().min(1).max(MAX_CITY_LENGTH).meta({ example: "Paris" });

// ---------------------------------------------------------------------------------------------
// Projects

export const ENVIRONMENTS = ["live", "sandbox"] as const;
export const environmentSchema = z.enum(ENVIRONMENTS);

const clockTime = text().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Must be a 24-hour time HH:MM");

export const quietHoursSchema = z
  .object({ start: clockTime.meta({ example: "22:00" }), end: clockTime.meta({ example: "08:00" }) })
  .strict()
  .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] })
  .meta({ description: "No pushes between start and end, in the subscriber's time zone (project time zone when unknown); may wrap midnight" });

export const frequencyCapSchema = z
  .object({
    max: z.number().int().min(1).max(10_000),
    windowSeconds: z.number().int().min(60).max(30 * 86_400),
  })
  .strict()
  .meta({ description: "At most `max` delivered pushes per subscriber in any `windowSeconds` (60 s to 30 days)" });

/** Stored and returned with both keys always present (null = no rule). */
export const deliveryPolicySchema = z.object({
  quietHours: quietHoursSchema.nullable(),
  frequencyCap: frequencyCapSchema.nullable(),
});
export type DeliveryPolicy = z.infer<typeof deliveryPolicySchema>;

/** On input either key may be left out: on create it defaults to null, on update it keeps its value. */
export const deliveryPolicyInput = z
  .object({ quietHours: quietHoursSchema.nullable().optional(), frequencyCap: frequencyCapSchema.nullable().optional() })
  .strict();

/** At most this many browser origins per project. */
export const MAX_ALLOWED_ORIGINS = 20;

/** `scheme://host[:port]` exactly as a browser's Origin header carries it (lowercase, no path, no trailing slash). */
function asOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  return value.replace(/\/$/, "").toLowerCase() === url.origin ? url.origin : undefined;
}

export const originSchema = canonicalized(text().trim().max(300), asOrigin, {
  maxLength: 300,
  invalid: "Must be an origin: scheme://host[:port], no path (e.g. https://shop.example)",
}).meta({ example: "https://shop.example" });

/** A project's browser origins: duplicates are dropped, the order kept. */
export const allowedOriginsSchema = z
  .array(originSchema)
  .max(MAX_ALLOWED_ORIGINS)
  .transform((list) => [...new Set(list)])
  .meta({ description: `Origins (≤ ${MAX_ALLOWED_ORIGINS}) whose pages may use the project's publishable API keys; a publishable key's request with any other Origin header is 403` });

export const projectSchema = z.object({
  id: z.string(),
  organizationId: z.string(),
  name: z.string(),
  environment: environmentSchema,
  timezone: z.string(),
  vapidPublicKey: z.string().meta({ description: "base64url of the 65-byte uncompressed P-256 point: the browser's applicationServerKey" }),
  deliveryPolicy: deliveryPolicySchema,
  rateLimits: projectRateLimitsSchema.nullable().meta({
    description: "Raised rate limits (requests per minute per client IP) for requests made with this project's API keys, by group; null = the server's limits",
  }),
  allowedOrigins: z.array(z.string()).meta({ description: "Origins whose pages may use the project's publishable API keys (CORS and the Origin check)" }),
  identityVerification: z.boolean().meta({ description: "When true, identify with a publishable key must carry identityToken = hex HMAC-SHA256(identity secret, externalId)" }),
  identitySecretCreatedAt: timestamp.nullable().meta({ description: "When the current identity secret was made (POST /projects/{projectId}/identity-secret); null = none yet" }),
  createdAt: timestamp,
  updatedAt: timestamp,
});

// ---------------------------------------------------------------------------------------------
// API keys

export const apiKeyScopeSchema = z.enum(API_KEY_SCOPES).meta({
  description: "`full`: server side, every API-key operation. `publishable`: safe in a page: register, identify, tag and unsubscribe its own subscription (by token), report notification events, read the SDK config; only from the project's allowedOrigins",
});

export const apiKeySchema = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  scope: apiKeyScopeSchema,
  prefix: z.string().meta({ example: "rb_live_" }),
  last4: z.string(),
  display: z.string().meta({ description: "prefix…last4, safe to show", example: "rb_live_…x9Qa" }),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable().meta({ description: "Recorded in batches (up to about 30 s late)" }),
  revokedAt: timestamp.nullable(),
});
export const createdApiKeySchema = apiKeySchema.extend({
  key: z.string().meta({ description: "The full key. Shown only in this response: store it now." }),
});

// ---------------------------------------------------------------------------------------------
// Subscribers

export const SUBSCRIBER_STATUSES = ["active", "unsubscribed", "expired"] as const;
export const subscriberStatusSchema = z.enum(SUBSCRIBER_STATUSES);

export const MAX_TAGS_PER_SUBSCRIBER = 100;
export const MAX_TAG_LENGTH = 64;

/** base64url (padding tolerated) of exactly `bytes` bytes; decoded and checked further by the server.
 *  The transform only strips padding, so the stored value is never longer than the checked one. */
const base64urlOf = (bytes: number, what: string) => {
  const chars = Math.ceil((bytes * 8) / 6);
  const pad = (4 - (chars % 4)) % 4;
  return text()
    .trim()
    .regex(new RegExp(`^[A-Za-z0-9_-]{${chars}}(={${pad}})?$`), `Must be base64url of ${what}`)
    .transform((v) => v.replace(/=+$/, ""));
};

export const p256dhSchema = base64urlOf(65, "a 65-byte uncompressed P-256 point").meta({
  description: "The subscription's P-256 public key (PushSubscription.getKey('p256dh')), base64url",
});
export const authSecretSchema = base64urlOf(16, "16 bytes").meta({ description: "The subscription's 16-byte auth secret, base64url" });
/** PushSubscription.toJSON().keys */
export const subscriptionKeysSchema = z
  .object({ p256dh: p256dhSchema, auth: authSecretSchema })
  .meta({ description: "The subscription's keys as PushSubscription.toJSON() gives them" });
export const subscriptionExpirationTimeSchema = z
  .number()
  .nullable()
  .optional()
  .meta({ description: "PushSubscription.expirationTime (ms since the epoch, or null): accepted and ignored" });

const KEYS_HINT = "give p256dh and auth, or keys: {p256dh, auth} as PushSubscription.toJSON() has them";

/** A registration's keys come flat (p256dh, auth) or nested (keys), never both: one issue per missing or doubled field. */
export function checkSubscriptionKeys(
  v: { p256dh?: string | undefined; auth?: string | undefined; keys?: { p256dh: string; auth: string } | undefined },
  ctx: z.RefinementCtx,
): void {
  if (v.keys !== undefined) {
    for (const field of ["p256dh", "auth"] as const) {
      if (v[field] !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `Given both ${field} and keys.${field}: ${KEYS_HINT}, not both` });
    }
    return;
  }
  for (const field of ["p256dh", "auth"] as const) {
    if (v[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `Required: ${KEYS_HINT}` });
  }
}

export const endpointSchema = storable(z.url({ protocol: /^https?$/, error: "Must be an https URL" }))
  .max(2048)
  .meta({ description: "The push service URL from the PushSubscription (https)" });
export const tagSchema = text().trim().min(1).max(MAX_TAG_LENGTH);
export const externalIdSchema = text().trim().min(1).max(200).meta({ description: "Your user id for this subscriber" });

export const subscriberSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  token: z.string().meta({ description: "Opaque handle for identify/tags calls from the browser (tok_…)" }),
  status: subscriberStatusSchema,
  endpoint: z.string(),
  externalId: z.string().nullable(),
  tags: z.array(z.string()),
  userAgent: z.string().nullable(),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  deviceType: z.string().nullable().meta({ description: "desktop, mobile, tablet, smarttv, console, wearable, embedded or xr" }),
  timezone: z.string().nullable(),
  language: z.string().nullable(),
  country: z.string().nullable().meta({ description: "ISO 3166-1 alpha-2: as given at registration, else from the client IP (offline geo-IP)" }),
  city: z.string().nullable().meta({ description: "As given at registration, else from the client IP (offline geo-IP)" }),
  createdAt: timestamp,
  updatedAt: timestamp,
  lastSeenAt: timestamp.meta({ description: "Set at registration, identify and tag changes" }),
});

// Builds the HTTP request for one push (RFC 8030 §5 + RFC 8291 + RFC 8292) without sending
// it, so building (CPU) and sending (I/O) can be scheduled and measured separately.
import { fromBase64Url, isBase64UrlAlphabet } from "./base64url";
import { encryptAes128gcm, MAX_PLAINTEXT_BYTES } from "./encrypt";
import { PushInputError } from "./errors";
import { audienceOf, type VapidSigner } from "./vapid";

export interface PushSubscriptionKeys {
  endpoint: string;
  /** base64url 65-byte P-256 point from PushSubscription.getKey('p256dh') */
  p256dh: string;
  /** base64url 16-byte secret from PushSubscription.getKey('auth') */
  auth: string;
}

export type Urgency = "very-low" | "low" | "normal" | "high";
const URGENCIES: ReadonlySet<string> = new Set<Urgency>(["very-low", "low", "normal", "high"]);

/** Longest TTL we send: 28 days, the most the big push services store a message. */
export const MAX_TTL_SECONDS = 2_419_200;
export const DEFAULT_TTL_SECONDS = 86_400;
/** RFC 8030 §5.4: Topic is at most 32 characters of the base64url alphabet. */
export const MAX_TOPIC_LENGTH = 32;

export interface BuildPushRequestOptions {
  subscription: PushSubscriptionKeys;
  /** Plaintext; strings are UTF-8 encoded. At most MAX_PLAINTEXT_BYTES bytes. */
  payload: Buffer | Uint8Array | string;
  vapid: VapidSigner;
  /** Seconds the push service may hold the message; 0..2419200, default 86400 (24 h). */
  ttl?: number;
  urgency?: Urgency;
  /** Replaces an undelivered message with the same topic (RFC 8030 §5.4). */
  topic?: string;
}

export interface PushRequest {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: Buffer;
}

export function isValidTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= MAX_TOPIC_LENGTH && isBase64UrlAlphabet(topic);
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new PushInputError("invalid_endpoint", "endpoint is not a URL");
  }
  // Scheme only; address checks (SSRF) happen at send time against the resolved IP.
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new PushInputError("invalid_endpoint", "endpoint must be an http(s) URL");
  }
  return url;
}

/** Throws PushInputError (with a code) for any invalid input. */
export function buildPushRequest(options: BuildPushRequestOptions): PushRequest {
  const { subscription, vapid, urgency, topic } = options;
  const ttl = options.ttl ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
    throw new PushInputError("invalid_ttl", `ttl must be an integer number of seconds in 0..${MAX_TTL_SECONDS}`);
  }
  if (urgency !== undefined && !URGENCIES.has(urgency)) {
    throw new PushInputError("invalid_urgency", "urgency must be very-low, low, normal or high");
  }
  if (topic !== undefined && !isValidTopic(topic)) {
    throw new PushInputError("invalid_topic", "topic must be 1-32 characters of the base64url alphabet");
  }
  const url = parseEndpoint(subscription.endpoint);
  const p256dh = fromBase64Url(subscription.p256dh);
  if (!p256dh) throw new PushInputError("invalid_p256dh", "p256dh is not base64url");
  const auth = fromBase64Url(subscription.auth);
  if (!auth) throw new PushInputError("invalid_auth", "auth is not base64url");
  const plaintext = typeof options.payload === "string" ? Buffer.from(options.payload, "utf8") : options.payload;
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new PushInputError(
      "payload_too_large",
      `payload is ${plaintext.length} bytes; the limit is ${MAX_PLAINTEXT_BYTES}`,
      MAX_PLAINTEXT_BYTES,
    );
  }

  const body = encryptAes128gcm(p256dh, auth, plaintext);
  const headers: Record<string, string> = {
    "Content-Encoding": "aes128gcm",
    "Content-Type": "application/octet-stream",
    "Content-Length": String(body.length),
    TTL: String(ttl),
    Urgency: urgency ?? "normal",
    Authorization: vapid.authorizationForAudience(audienceOf(url)),
  };
  if (topic !== undefined) headers.Topic = topic;
  return { url: url.href, method: "POST", headers, body };
}

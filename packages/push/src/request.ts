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

/**
 * The CPU-heavy half of a build: decodes the subscription's keys and encrypts the payload (ECDH +
 * HKDF + AES-128-GCM). Pure and self-contained, so it can run on a worker thread; the result goes
 * to assemblePushRequest. Throws PushInputError for bad keys or an oversized payload.
 */
export function encryptPushPayload(subscription: Pick<PushSubscriptionKeys, "p256dh" | "auth">, payload: Buffer | Uint8Array | string): Buffer {
  const p256dh = fromBase64Url(subscription.p256dh);
  if (!p256dh) throw new PushInputError("invalid_p256dh", "p256dh is not base64url");
  const auth = fromBase64Url(subscription.auth);
  if (!auth) throw new PushInputError("invalid_auth", "auth is not base64url");
  const plaintext = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new PushInputError(
      "payload_too_large",
      `payload is ${plaintext.length} bytes; the limit is ${MAX_PLAINTEXT_BYTES}`,
      MAX_PLAINTEXT_BYTES,
    );
  }
  return encryptAes128gcm(p256dh, auth, plaintext);
}

export type AssemblePushRequestOptions = Omit<BuildPushRequestOptions, "payload" | "subscription"> & { subscription: Pick<PushSubscriptionKeys, "endpoint"> };

function checkOptions(options: Pick<BuildPushRequestOptions, "ttl" | "urgency" | "topic">): number {
  const { urgency, topic } = options;
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
  return ttl;
}

function assemble(url: URL, body: Buffer, ttl: number, options: Pick<BuildPushRequestOptions, "vapid" | "urgency" | "topic">): PushRequest {
  const headers: Record<string, string> = {
    "Content-Encoding": "aes128gcm",
    "Content-Type": "application/octet-stream",
    "Content-Length": String(body.length),
    TTL: String(ttl),
    Urgency: options.urgency ?? "normal",
    Authorization: options.vapid.authorizationForAudience(audienceOf(url)),
  };
  if (options.topic !== undefined) headers.Topic = options.topic;
  return { url: url.href, method: "POST", headers, body };
}

/**
 * The cheap half: the request around a body from encryptPushPayload (headers, the cached VAPID
 * authorization). Throws PushInputError for invalid options or endpoint.
 */
export function assemblePushRequest(options: AssemblePushRequestOptions, body: Buffer): PushRequest {
  const ttl = checkOptions(options);
  return assemble(parseEndpoint(options.subscription.endpoint), body, ttl, options);
}

/** Throws PushInputError (with a code) for any invalid input. */
export function buildPushRequest(options: BuildPushRequestOptions): PushRequest {
  const ttl = checkOptions(options);
  const url = parseEndpoint(options.subscription.endpoint);
  return assemble(url, encryptPushPayload(options.subscription, options.payload), ttl, options);
}

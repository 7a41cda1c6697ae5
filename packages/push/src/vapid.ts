// VAPID (RFC 8292): an ES256 JWT naming the push service (aud), an expiry (exp ≤ 24 h)
// and a contact (sub), sent as `Authorization: vapid t=<jwt>, k=<public key>`.
//
// Signing is the dominant per-message cost after encryption (web-push re-signs every
// message, with PEM conversion on top). A token is valid for any number of messages to
// the same push service until it expires, so VapidSigner caches one per audience.
import { createPrivateKey, sign, verify, type KeyObject } from "node:crypto";
import { fromBase64Url, toBase64Url } from "./base64url";
import { importP256PublicKey, pointToJwkCoordinates, publicKeyFromPrivate } from "./vapid-keys";

/** RFC 8292 §2: exp must be no more than 24 hours after the request. */
export const VAPID_MAX_LIFETIME_SECONDS = 24 * 60 * 60;
const DEFAULT_TOKEN_TTL_SECONDS = 12 * 60 * 60;
const DEFAULT_RENEW_BEFORE_SECONDS = 60 * 60;
const DEFAULT_MAX_CACHED_AUDIENCES = 1000;

const JWT_HEADER_B64 = toBase64Url(Buffer.from(JSON.stringify({ typ: "JWT", alg: "ES256" })));

export interface VapidClaims {
  aud: string;
  exp: number;
  sub?: string;
}

/** The JWT audience for an endpoint: the origin of the push resource URL (RFC 8292 §2). */
export function audienceOf(endpoint: string | URL): string {
  const url = typeof endpoint === "string" ? new URL(endpoint) : endpoint;
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("endpoint must be an http(s) URL");
  return url.origin;
}

/**
 * A contact URI the push services accept: mailto:addr@host or an https: URL. Apple answers
 * 403 BadJwtToken for anything else (e.g. "mailto: x@y" with a space), so check up front.
 */
export function isValidVapidSubject(subject: string): boolean {
  if (/^mailto:[^\s@]+@[^\s@]+$/.test(subject)) return true;
  if (!subject.startsWith("https:")) return false;
  try {
    return new URL(subject).protocol === "https:";
  } catch {
    return false;
  }
}

/** Signs one VAPID JWT. Prefer VapidSigner, which caches tokens. */
export function signVapidJwt(claims: VapidClaims, key: KeyObject): string {
  const data = `${JWT_HEADER_B64}.${toBase64Url(Buffer.from(JSON.stringify(claims)))}`;
  // JWS ES256 wants the raw r||s form, not DER (RFC 7518 §3.4).
  const signature = sign("sha256", Buffer.from(data), { key, dsaEncoding: "ieee-p1363" });
  return `${data}.${toBase64Url(signature)}`;
}

export interface VapidSignerOptions {
  /** base64url 65-byte uncompressed public point */
  publicKey: string;
  /** base64url 32-byte private scalar */
  privateKey: string;
  /** mailto: or https: contact for the push service operator */
  subject: string;
  /** Clock in ms since the epoch; injectable for tests. */
  now?: () => number;
  /** Lifetime written into exp. Default 12 h, at most 24 h. */
  tokenTtlSeconds?: number;
  /** Re-sign when a cached token is this close to expiry. Default 1 h. */
  renewBeforeSeconds?: number;
  /** Audiences kept in the cache; the least recently used is evicted. Default 1000. */
  maxCachedAudiences?: number;
}

interface CachedToken {
  header: string;
  renewAtMs: number;
}

export class VapidSigner {
  readonly publicKey: string;
  readonly subject: string;
  readonly #key: KeyObject;
  readonly #now: () => number;
  readonly #ttlSeconds: number;
  readonly #renewBeforeSeconds: number;
  readonly #maxCached: number;
  // Map iteration order is insertion order, so re-inserting on use gives LRU eviction.
  readonly #cache = new Map<string, CachedToken>();
  #mostRecent: string | undefined;

  constructor(options: VapidSignerOptions) {
    const ttl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    const renewBefore = options.renewBeforeSeconds ?? DEFAULT_RENEW_BEFORE_SECONDS;
    if (!Number.isInteger(ttl) || ttl <= 0 || ttl > VAPID_MAX_LIFETIME_SECONDS) {
      throw new RangeError(`tokenTtlSeconds must be an integer in 1..${VAPID_MAX_LIFETIME_SECONDS}`);
    }
    if (!Number.isInteger(renewBefore) || renewBefore < 0 || renewBefore >= ttl) {
      throw new RangeError("renewBeforeSeconds must be an integer in 0..tokenTtlSeconds-1");
    }
    if (!isValidVapidSubject(options.subject)) {
      throw new TypeError("VAPID subject must be mailto:user@host or an https: URL");
    }
    const d = fromBase64Url(options.privateKey);
    const point = fromBase64Url(options.publicKey);
    const derived = d && publicKeyFromPrivate(d);
    const coords = point && pointToJwkCoordinates(point);
    if (!derived || !point || !coords || !derived.equals(point)) {
      throw new TypeError("VAPID key pair is invalid or the public key does not match the private key");
    }
    // Built once: importing a key costs about as much as a signature.
    this.#key = createPrivateKey({ key: { kty: "EC", crv: "P-256", d: toBase64Url(d), ...coords }, format: "jwk" });
    this.publicKey = toBase64Url(point);
    this.subject = options.subject;
    this.#now = options.now ?? Date.now;
    this.#ttlSeconds = ttl;
    this.#renewBeforeSeconds = renewBefore;
    this.#maxCached = Math.max(1, options.maxCachedAudiences ?? DEFAULT_MAX_CACHED_AUDIENCES);
  }

  /** The Authorization header value for a push endpoint URL. */
  authorizationFor(endpoint: string | URL): string {
    return this.authorizationForAudience(audienceOf(endpoint));
  }

  /** The Authorization header value for an audience (a push service origin). */
  authorizationForAudience(audience: string): string {
    const nowMs = this.#now();
    const cached = this.#cache.get(audience);
    if (cached && nowMs < cached.renewAtMs) {
      // A fan-out hits one push service over and over: when this audience is already the
      // most recently used entry, moving it to the end again is pure churn.
      if (this.#mostRecent !== audience) {
        this.#cache.delete(audience);
        this.#cache.set(audience, cached);
        this.#mostRecent = audience;
      }
      return cached.header;
    }
    const exp = Math.floor(nowMs / 1000) + this.#ttlSeconds;
    const token = signVapidJwt({ aud: audience, exp, sub: this.subject }, this.#key);
    const entry = { header: `vapid t=${token}, k=${this.publicKey}`, renewAtMs: (exp - this.#renewBeforeSeconds) * 1000 };
    this.#cache.delete(audience);
    this.#cache.set(audience, entry);
    this.#mostRecent = audience;
    if (this.#cache.size > this.#maxCached) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    return entry.header;
  }

  /** Number of audiences with a cached token (for metrics and tests). */
  get cachedAudiences(): number {
    return this.#cache.size;
  }
}

export function createVapidSigner(options: VapidSignerOptions): VapidSigner {
  return new VapidSigner(options);
}

/** Splits `vapid t=<jwt>, k=<key>` (parameters in any order); null if not that scheme. */
export function parseVapidAuthorization(header: string): { token: string; publicKey: string } | null {
  const match = /^vapid\s+(.*)$/i.exec(header.trim());
  if (!match?.[1]) return null;
  const params = new Map<string, string>();
  for (const part of match[1].split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return null;
    params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const token = params.get("t");
  const publicKey = params.get("k");
  return token && publicKey ? { token, publicKey } : null;
}

export type VapidVerifyFailure =
  | "malformed_token"
  | "unsupported_algorithm"
  | "invalid_public_key"
  | "bad_signature"
  | "audience_mismatch"
  | "expired"
  | "expiry_too_far"
  | "invalid_subject";

export type VapidVerifyResult = { ok: true; claims: VapidClaims } | { ok: false; reason: VapidVerifyFailure };

export interface VapidVerifyOptions {
  /** Required aud (the push service's own origin). */
  audience?: string;
  /** Clock in ms; defaults to Date.now. */
  now?: number;
}

function parseJsonSegment(segment: string): unknown {
  const bytes = fromBase64Url(segment);
  if (!bytes) return undefined;
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Push-service side check of a VAPID JWT against the k= public key (RFC 8292 §4.2). */
export function verifyVapidJwt(token: string, publicKey: string, options: VapidVerifyOptions = {}): VapidVerifyResult {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed_token" };
  const [headerSeg = "", claimsSeg = "", sigSeg = ""] = parts;
  const header = parseJsonSegment(headerSeg) as { alg?: unknown; typ?: unknown } | undefined;
  const claims = parseJsonSegment(claimsSeg) as Partial<Record<keyof VapidClaims, unknown>> | undefined;
  const signature = fromBase64Url(sigSeg);
  if (!header || typeof header !== "object" || !claims || typeof claims !== "object" || !signature) {
    return { ok: false, reason: "malformed_token" };
  }
  if (header.alg !== "ES256") return { ok: false, reason: "unsupported_algorithm" };
  const point = fromBase64Url(publicKey);
  const key = point && importP256PublicKey(point);
  if (!key) return { ok: false, reason: "invalid_public_key" };
  const valid =
    signature.length === 64 &&
    verify("sha256", Buffer.from(`${headerSeg}.${claimsSeg}`), { key, dsaEncoding: "ieee-p1363" }, signature);
  if (!valid) return { ok: false, reason: "bad_signature" };

  if (typeof claims.aud !== "string" || typeof claims.exp !== "number") return { ok: false, reason: "malformed_token" };
  if (options.audience !== undefined && claims.aud !== options.audience) return { ok: false, reason: "audience_mismatch" };
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  if (claims.exp <= nowSeconds) return { ok: false, reason: "expired" };
  if (claims.exp > nowSeconds + VAPID_MAX_LIFETIME_SECONDS) return { ok: false, reason: "expiry_too_far" };
  if (claims.sub !== undefined && (typeof claims.sub !== "string" || !isValidVapidSubject(claims.sub))) {
    return { ok: false, reason: "invalid_subject" };
  }
  const result: VapidClaims = { aud: claims.aud, exp: claims.exp };
  if (typeof claims.sub === "string") result.sub = claims.sub;
  return { ok: true, claims: result };
}

import { createSecretKey, type KeyObject } from "node:crypto";
import { errors, jwtVerify, SignJWT, decodeJwt, decodeProtectedHeader, type JWTPayload } from "jose";

/** Clock tolerance for `exp`/`nbf`/`iat`. */
export const CLOCK_TOLERANCE_S = 30;

export type HmacKey = KeyObject;

/** Imports an HS256 secret once (verifying with a KeyObject is about twice as fast as raw bytes per call). */
export function hmacKey(secret: string | Uint8Array): HmacKey {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  // jose accepts a 5-byte secret: refuse anything below 256 bits ourselves.
  if (bytes.byteLength < 32) throw new Error("HMAC secret must be at least 32 bytes");
  return createSecretKey(bytes);
}

export async function signHs256(claims: JWTPayload, key: HmacKey, expiresInSeconds: number, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(iat).setExpirationTime(iat + expiresInSeconds).sign(key);
}

export class InvalidTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "InvalidTokenError";
  }
}

/**
 * Header parameters that name, carry or constrain a key, or add processing rules. The key is always
 * the one the server chose, so a token carrying any of these is refused rather than the parameter
 * ignored (RFC 7515 §4.1, RFC 8725 §3.10): `kid`, `jku`, `jwk`, `x5u`, `x5c`, `crit`.
 */
const REFUSED_HEADERS = ["kid", "jku", "jwk", "x5u", "x5c", "crit"] as const;

/**
 * Verifies an HS256 token: the algorithm is pinned (no `none`, no RS/ES confusion), the key-naming
 * headers (REFUSED_HEADERS) must be absent, the signature is checked before any claim is read, and
 * `exp` and `iat` are mandatory. An `iat` later than now (beyond the clock tolerance) is refused.
 * With `maxLifetimeSeconds`, both `exp - iat` and `exp - now` must stay within it (the latter with
 * the clock tolerance), so a future-dated token cannot stretch its validity past the cap.
 */
export async function verifyHs256(token: string, key: HmacKey, opts: { maxLifetimeSeconds?: number; now?: number } = {}): Promise<JWTPayload> {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new InvalidTokenError("malformed");
  }
  if (header.alg !== "HS256") throw new InvalidTokenError("algorithm");
  if (REFUSED_HEADERS.some((name) => Object.hasOwn(header, name))) throw new InvalidTokenError("header");
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ["exp", "iat"],
      ...(opts.now !== undefined ? { currentDate: new Date(opts.now) } : {}),
    });
    // jose checked that both are numbers (requiredClaims) and that `exp` is not past; it does not
    // look at an `iat` in the future.
    const exp = payload.exp as number;
    const iat = payload.iat as number;
    const nowS = Math.floor((opts.now ?? Date.now()) / 1000);
    if (iat > nowS + CLOCK_TOLERANCE_S) throw new InvalidTokenError("iat");
    if (opts.maxLifetimeSeconds !== undefined && (exp - iat > opts.maxLifetimeSeconds || exp - nowS > opts.maxLifetimeSeconds + CLOCK_TOLERANCE_S)) {
      throw new InvalidTokenError("lifetime");
    }
    return payload;
  } catch (e) {
    if (e instanceof InvalidTokenError) throw e;
    if (e instanceof errors.JOSEError) throw new InvalidTokenError(e.code);
    throw new InvalidTokenError("invalid");
  }
}

/** Reads claims WITHOUT verifying: only to choose which key verifies the token. Never trust the result. */
export function peekClaims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/** Parses `7d`, `12h`, `30m`, `45s` or plain seconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new Error(`invalid duration "${value}" (use e.g. 7d, 12h, 30m, 3600)`);
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
  if (n <= 0) throw new Error(`duration must be positive: "${value}"`);
  return n * unit;
}

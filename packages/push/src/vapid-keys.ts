// VAPID key pairs (RFC 8292 §3.2): the application server's P-256 key. The public key is
// shared as the base64url uncompressed point (what browsers take as applicationServerKey),
// the private key as the base64url 32-byte scalar d (same format as the web-push package).
import { createECDH, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { fromBase64Url, toBase64Url } from "./base64url";

export interface VapidKeys {
  /** base64url of the 65-byte uncompressed point 0x04 || X || Y */
  publicKey: string;
  /** base64url of the 32-byte private scalar d */
  privateKey: string;
}

export const P256_POINT_BYTES = 65;
export const P256_SCALAR_BYTES = 32;

export function generateVapidKeys(): VapidKeys {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.d || !jwk.x || !jwk.y) throw new Error("EC JWK export is missing coordinates");
  const point = Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  return { publicKey: toBase64Url(point), privateKey: jwk.d };
}

/** Splits an uncompressed point into JWK coordinates; null unless 65 bytes starting 0x04. */
export function pointToJwkCoordinates(point: Uint8Array): { x: string; y: string } | null {
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) return null;
  return { x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) };
}

/**
 * Imports an uncompressed P-256 point as a KeyObject. OpenSSL checks the point is on the
 * curve while importing (verified in test/vapid-keys.test.ts), so an off-curve point throws.
 */
export function importP256PublicKey(point: Uint8Array): KeyObject | null {
  const coords = pointToJwkCoordinates(point);
  if (!coords) return null;
  try {
    return createPublicKey({ key: { kty: "EC", crv: "P-256", ...coords }, format: "jwk" });
  } catch {
    return null;
  }
}

// P-256 domain parameters (SEC 2 §2.4.2 / FIPS 186-4 D.1.2.3): y² = x³ − 3x + b over GF(p).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * 65 bytes, 0x04 prefix, and the point lies on P-256 (so ECDH against it is safe). Checked with the
 * curve equation directly (about 2 µs) rather than a JWK import (about 95 µs): this runs on every
 * subscription. An uncompressed point cannot encode infinity, and P-256 has cofactor 1, so on-curve
 * with coordinates below p is exactly what OpenSSL's import accepts.
 */
export function isValidP256PublicKey(b64url: string): boolean {
  const point = fromBase64Url(b64url);
  if (point === null || point.length !== P256_POINT_BYTES || point[0] !== 0x04) return false;
  const x = BigInt(`0x${point.toString("hex", 1, 33)}`);
  const y = BigInt(`0x${point.toString("hex", 33, 65)}`);
  if (x >= P || y >= P) return false;
  return (y * y - (((x * x - 3n) * x + B) % P)) % P === 0n;
}

/**
 * Derives the public point from a private scalar; null when d is not a valid P-256 scalar.
 * Used to check a stored VAPID pair belongs together before signing with it.
 */
export function publicKeyFromPrivate(privateKey: Uint8Array): Buffer | null {
  if (privateKey.length !== P256_SCALAR_BYTES) return null;
  try {
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(privateKey);
    return ecdh.getPublicKey();
  } catch {
    return null;
  }
}

/** True when both halves decode, the point is on the curve and it matches the scalar. */
export function isValidVapidKeyPair(keys: VapidKeys): boolean {
  const d = fromBase64Url(keys.privateKey);
  const point = fromBase64Url(keys.publicKey);
  if (!d || !point || !isValidP256PublicKey(keys.publicKey)) return false;
  const derived = publicKeyFromPrivate(d);
  return derived !== null && derived.equals(point);
}

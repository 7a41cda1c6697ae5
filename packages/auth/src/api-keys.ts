import { hash, randomBytes } from "node:crypto";

export type KeyEnvironment = "live" | "sandbox";

export const API_KEY_PREFIX = { live: "rb_live_", sandbox: "rb_test_" } as const;

/** A new API key: the prefix then 192 bits of randomness, base64url (URL-safe). */
export function mintApiKey(environment: KeyEnvironment): string {
  return API_KEY_PREFIX[environment] + randomBytes(24).toString("base64url");
}

/** Keys are stored only as SHA-256 hashes: they are long random strings, so no slow hash is needed. */
export function hashApiKey(key: string): string {
  // One-shot crypto.hash (Node ≥ 20.12): same digest without a Hash object per call (runs per request).
  return hash("sha256", key, "hex");
}

export function looksLikeApiKey(value: string): boolean {
  return /^rb_(live|test)_[A-Za-z0-9_-]{20,100}$/.test(value);
}

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SecretBox } from "@reachbell/auth";

// Identity verification: a page's publishable key may attach a user id (externalId) to its
// subscription only with a token the site's backend computed, hex(HMAC-SHA256(identity secret,
// externalId)), so a visitor cannot claim another user's id and receive their pushes.

/** Additional data the secret is sealed under: a sealed secret cannot be moved to another project. */
const aad = (projectId: string) => `identity-secret:${projectId}`;

/** A new identity secret (256 bits, hex) and its sealed form for the projects table. */
export function newIdentitySecret(secrets: SecretBox, projectId: string): { secret: string; sealed: string } {
  const secret = randomBytes(32).toString("hex");
  return { secret, sealed: secrets.seal(secret, aad(projectId)) };
}

/** What the site's backend computes for `externalId` (the README shows the same in Node). */
export function identityToken(secret: string, externalId: string): string {
  return createHmac("sha256", secret).update(externalId, "utf8").digest("hex");
}

/** True when `token` is the identity token of `externalId` under the sealed secret, compared in constant time. */
export function verifyIdentityToken(secrets: SecretBox, projectId: string, sealed: string, externalId: string, token: string): boolean {
  const expected = Buffer.from(identityToken(secrets.open(sealed, aad(projectId)), externalId), "hex");
  // Hex only, either case; anything else (wrong length, other characters) is simply not the token.
  const given = /^[0-9a-fA-F]{64}$/.test(token) ? Buffer.from(token, "hex") : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

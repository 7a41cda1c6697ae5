import { InvalidTokenError, type JWTPayload, hmacKey, verifyHs256 } from "@reachbell/auth";
import { ROLES, type Role, isStorableText } from "@reachbell/contract";
import type { Deps } from "../context";

export type PartnerClaims =
  | { type: "partner"; partnerId: string }
  | { type: "tenant"; partnerId: string; tenantExternalId: string; externalId: string; email: string; name: string; role: Role };

/**
 * Verifies a token signed with a partner's secret. Every secret of the partner that has not expired
 * is tried (rotation keeps the old one valid for an overlap window); a deleted partner has none.
 * Partner and tenant tokens are told apart by their claims and never accepted for one another.
 */
export async function verifyPartnerToken(deps: Deps, token: string, partnerId: string): Promise<PartnerClaims> {
  const now = deps.clock();
  const secrets = await deps.database.db
    .selectFrom("partnerSecrets")
    .select(["secretEnc", "expiresAt"])
    .where("partnerId", "=", partnerId)
    .execute();
  let payload: JWTPayload | undefined;
  for (const s of secrets) {
    if (s.expiresAt && s.expiresAt <= now.toISOString()) continue;
    let key;
    try {
      key = hmacKey(deps.secrets.open(s.secretEnc, partnerId));
    } catch {
      // Sealed under another ENCRYPTION_KEY or for another partner (AAD): unusable, never a 500.
      deps.logger.error("a partner secret cannot be opened: check ENCRYPTION_KEY", { partnerId });
      continue;
    }
    try {
      payload = await verifyHs256(token, key, { now: now.getTime(), maxLifetimeSeconds: deps.config.partnerTokenMaxLifetimeSeconds });
      break;
    } catch (e) {
      if (!(e instanceof InvalidTokenError)) throw e;
    }
  }
  if (!payload || payload.partnerId !== partnerId) throw new InvalidTokenError("signature");
  const str = (v: unknown) => typeof v === "string" && v.length > 0 && v.length <= 320 && isStorableText(v);
  if (payload.type === "partner") {
    if ("tenantExternalId" in payload) throw new InvalidTokenError("claims");
    return { type: "partner", partnerId };
  }
  if (payload.type !== undefined && payload.type !== "tenant") throw new InvalidTokenError("type");
  const { tenantExternalId, externalId, email, name } = payload;
  if (!str(tenantExternalId) || !str(externalId) || !str(email) || !str(name)) throw new InvalidTokenError("claims");
  const role = payload.role ?? "ADMIN";
  if (!(ROLES as readonly unknown[]).includes(role)) throw new InvalidTokenError("role");
  return {
    type: "tenant",
    partnerId,
    tenantExternalId: tenantExternalId as string,
    externalId: externalId as string,
    email: email as string,
    name: name as string,
    role: role as Role,
  };
}

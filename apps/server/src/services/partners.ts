import { randomBytes } from "node:crypto";
import type { SecretBox } from "@reachbell/auth";
import { type Database, newId } from "@reachbell/db";
import { normalizeOrigin } from "../http/origins";

// Partners are managed by the operator's command line (cli.ts), not over HTTP. These functions take
// only what they need so the CLI can call them without building the app.

export interface PartnerStore {
  database: Database;
  secrets: SecretBox;
  clock: () => Date;
}

/** 32 random bytes (256 bits), base64url: 43 characters. Partners sign HS256 with this string as the key. */
export function generatePartnerSecret(): string {
  return randomBytes(32).toString("base64url");
}

export interface PartnerSummary {
  partnerId: string;
  name: string;
  createdAt: string;
  allowedOrigins: string[];
  secrets: { id: string; createdAt: string; expiresAt: string | null; active: boolean }[];
}

export class PartnerNotFoundError extends Error {
  constructor(id: string) {
    super(`no partner with id ${id}`);
    this.name = "PartnerNotFoundError";
  }
}

async function insertSecret(store: PartnerStore, partnerId: string, now: string) {
  const secret = generatePartnerSecret();
  // Sealed with ENCRYPTION_KEY; the partner id is the AAD, so a sealed secret cannot be moved to another partner.
  await store.database.db
    .insertInto("partnerSecrets")
    .values({ id: newId("psk"), partnerId, secretEnc: store.secrets.seal(secret, partnerId), createdAt: now, expiresAt: null })
    .execute();
  return secret;
}

/** Creates a partner with one secret. The secret is returned here only; it is stored encrypted. */
export async function createPartner(store: PartnerStore, name: string): Promise<{ partnerId: string; secret: string }> {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw new Error("--name must be 1 to 200 characters");
  const now = store.clock().toISOString();
  const partnerId = newId("ptn");
  await store.database.db.insertInto("partners").values({ id: partnerId, name: trimmed, createdAt: now, allowedOrigins: null }).execute();
  const secret = await insertSecret(store, partnerId, now);
  return { partnerId, secret };
}

export async function listPartners(store: PartnerStore): Promise<PartnerSummary[]> {
  const db = store.database.db;
  const now = store.clock().toISOString();
  const partners = await db.selectFrom("partners").selectAll().orderBy("id").execute();
  const secrets = await db.selectFrom("partnerSecrets").select(["id", "partnerId", "createdAt", "expiresAt"]).orderBy("id").execute();
  return partners.map((p) => ({
    partnerId: p.id,
    name: p.name,
    createdAt: p.createdAt,
    allowedOrigins: parseOrigins(p.allowedOrigins),
    secrets: secrets
      .filter((s) => s.partnerId === p.id)
      .map((s) => ({ id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt, active: s.expiresAt === null || s.expiresAt > now })),
  }));
}

async function requirePartner(store: PartnerStore, partnerId: string): Promise<void> {
  const found = await store.database.db.selectFrom("partners").select("id").where("id", "=", partnerId).executeTakeFirst();
  if (!found) throw new PartnerNotFoundError(partnerId);
}

/**
 * Issues a new secret. Every secret still valid keeps verifying until `overlapSeconds` from now
 * (never longer than it already would): 0 retires them at once, for a leaked secret.
 */
export async function rotatePartnerSecret(
  store: PartnerStore,
  partnerId: string,
  overlapSeconds: number,
): Promise<{ partnerId: string; secret: string; previousSecretsExpireAt: string }> {
  await requirePartner(store, partnerId);
  const now = store.clock();
  const until = new Date(now.getTime() + overlapSeconds * 1000).toISOString();
  let secret = "";
  await store.database.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("partnerSecrets")
      .set({ expiresAt: until })
      .where("partnerId", "=", partnerId)
      .where((eb) => eb.or([eb("expiresAt", "is", null), eb("expiresAt", ">", until)]))
      .execute();
    secret = await insertSecret({ ...store, database: { ...store.database, db: trx } }, partnerId, now.toISOString());
  });
  return { partnerId, secret, previousSecretsExpireAt: until };
}

/** Deletes a partner and its secrets: its partner and tenant tokens stop verifying at once. Its tenants' data stays. */
export async function deletePartner(store: PartnerStore, partnerId: string): Promise<{ partnerId: string; deleted: true }> {
  await requirePartner(store, partnerId);
  await store.database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom("partnerSecrets").where("partnerId", "=", partnerId).execute();
    await trx.deleteFrom("partners").where("id", "=", partnerId).execute();
  });
  return { partnerId, deleted: true };
}

export function parseOrigins(json: string | null): string[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((o): o is string => typeof o === "string") : [];
  } catch {
    return [];
  }
}

/** Replaces the browser origins allowed to call the API with this partner's tenant tokens (CORS). */
export async function setPartnerOrigins(store: PartnerStore, partnerId: string, origins: string[]): Promise<{ partnerId: string; allowedOrigins: string[] }> {
  await requirePartner(store, partnerId);
  const normalized = [...new Set(origins.map(normalizeOrigin))];
  await store.database.db
    .updateTable("partners")
    .set({ allowedOrigins: normalized.length > 0 ? JSON.stringify(normalized) : null })
    .where("id", "=", partnerId)
    .execute();
  return { partnerId, allowedOrigins: normalized };
}

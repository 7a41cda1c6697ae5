import type { Kysely } from "kysely";
import { type Dialect, timestampType } from "./util";

/**
 * Keys safe in a page: an API key's `scope` (`full` as every key so far, or `publishable`), a project's
 * browser origins (JSON text of an array; null = none), identity verification (`off`/`on`: booleans
 * are stored as text, see schema.ts) and its identity secret, sealed with ENCRYPTION_KEY like the
 * VAPID private key (the server must compute HMACs with it, so it cannot be a one-way hash).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable("api_keys").addColumn("scope", "text", (c) => c.notNull().defaultTo("full")).execute();
  await db.schema.alterTable("projects").addColumn("allowed_origins", "text").execute();
  await db.schema.alterTable("projects").addColumn("identity_verification", "text", (c) => c.notNull().defaultTo("off")).execute();
  await db.schema.alterTable("projects").addColumn("identity_secret_enc", "text").execute();
  await db.schema.alterTable("projects").addColumn("identity_secret_created_at", timestampType(dialect)).execute();
}

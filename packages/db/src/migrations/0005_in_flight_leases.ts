import { type Kysely, sql } from "kysely";
import { type Dialect, timestampType } from "./util";

/**
 * Leases on in-flight work, so a crashed instance's leftovers can be told from a live instance's:
 * an `in_flight` Idempotency-Key and a `pending` message carry `lease_expires_at`, renewed while the
 * work runs. Past it, a retry may take the key over (CAS on `lease_owner`) and a sweep settles the
 * message. Columns only (SQLite has no ALTER COLUMN); rows written before this have a null lease and
 * are judged by `created_at`.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);
  await db.schema.alterTable("idempotency_keys").addColumn("lease_owner", "varchar(40)").execute();
  await db.schema.alterTable("idempotency_keys").addColumn("lease_expires_at", ts).execute();
  await db.schema.alterTable("messages").addColumn("lease_expires_at", ts).execute();
  // Partial indexes (SQLite and PostgreSQL both have them): the sweep reads only what is in flight.
  await db.schema.createIndex("idempotency_keys_in_flight_idx").on("idempotency_keys").columns(["lease_expires_at", "created_at"]).where(sql.ref("state"), "=", "in_flight").execute();
  await db.schema.createIndex("messages_pending_idx").on("messages").columns(["lease_expires_at", "created_at"]).where(sql.ref("status"), "=", "pending").execute();
}

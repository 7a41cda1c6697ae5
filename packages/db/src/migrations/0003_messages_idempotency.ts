import type { Kysely } from "kysely";
import { type Dialect, timestampType } from "./util";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);
  // One push to one subscriber. `status` moves pending → delivered | simulated | failed | skipped;
  // a pending row is a reserved frequency-cap slot, so concurrent sends cannot exceed the cap.
  await db.schema
    .createTable("messages")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("project_id", "varchar(40)", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("subscriber_id", "varchar(40)", (c) => c.references("subscribers.id").onDelete("set null"))
    .addColumn("kind", "varchar(20)", (c) => c.notNull())
    .addColumn("mode", "varchar(10)", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("reason", "varchar(40)")
    .addColumn("push_status", "integer")
    .addColumn("attempts", "text", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("completed_at", ts)
    .addColumn("duration_ms", "integer")
    .execute();
  await db.schema.createIndex("messages_subscriber_idx").on("messages").columns(["subscriber_id", "created_at"]).execute();
  await db.schema.createIndex("messages_project_idx").on("messages").columns(["project_id", "id"]).execute();

  // Idempotency-Key records: the first response is replayed for 24 h.
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("project_id", "varchar(40)", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("key", "varchar(255)", (c) => c.notNull())
    .addColumn("request_hash", "varchar(64)", (c) => c.notNull())
    .addColumn("state", "varchar(20)", (c) => c.notNull())
    .addColumn("response", "text")
    .addColumn("created_at", ts, (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["project_id", "key"])
    .execute();
}

import type { Kysely } from "kysely";
import { type Dialect, timestampType } from "./util";

/** Saved segments (SPEC §8): a named filter over one project's subscribers, JSON text, evaluated when used. */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);
  await db.schema
    .createTable("segments")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("project_id", "varchar(40)", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("filters", "text", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("updated_at", ts, (c) => c.notNull())
    .execute();
  // Lists are per project in id (creation) order; the FK's cascade also needs the project_id lookup.
  await db.schema.createIndex("segments_project_idx").on("segments").columns(["project_id", "id"]).execute();
}

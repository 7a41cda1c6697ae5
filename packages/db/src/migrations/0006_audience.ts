import { type Kysely, sql } from "kysely";
import { type Dialect, timestampType } from "./util";

/**
 * Audience data for segments (SPEC §8): when a subscriber was last seen, and its city (`country`,
 * varchar(2), exists since 0002). Columns only (SQLite has no ALTER COLUMN), so `last_seen_at` stays
 * nullable at the database; the application always writes it and the backfill below fills old rows.
 *
 * Indexes serve segment filters, which always read one project's `active` subscribers: equality on
 * (project_id, status) then a range or IN-list on the filtered column. The existing
 * (project_id, status, id) index still serves keyset batches without a filter.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);
  await db.schema.alterTable("subscribers").addColumn("last_seen_at", ts).execute();
  await db.schema.alterTable("subscribers").addColumn("city", "varchar(128)").execute();
  await db.updateTable("subscribers").set({ last_seen_at: sql.ref("created_at") }).where("last_seen_at", "is", null).execute();
  await db.schema.createIndex("subscribers_project_status_country_idx").on("subscribers").columns(["project_id", "status", "country"]).execute();
  await db.schema.createIndex("subscribers_project_status_last_seen_idx").on("subscribers").columns(["project_id", "status", "last_seen_at"]).execute();
  await db.schema.createIndex("subscribers_project_status_created_idx").on("subscribers").columns(["project_id", "status", "created_at"]).execute();
}

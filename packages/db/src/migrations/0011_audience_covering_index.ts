import type { Kysely } from "kysely";
import type { Dialect } from "./util";

/**
 * The common segment (country, platform, language over one project's active subscribers) counted from
 * the index alone: (project_id, status, country) plus device_type and language, so neither database
 * reads the table rows to test the other two filters (PostgreSQL: an index-only scan). It replaces the
 * country index of 0006, whose columns are its prefix.
 */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createIndex("subscribers_project_status_country_device_lang_idx")
    .on("subscribers")
    .columns(["project_id", "status", "country", "device_type", "language"])
    .execute();
  await db.schema.dropIndex("subscribers_project_status_country_idx").execute();
}

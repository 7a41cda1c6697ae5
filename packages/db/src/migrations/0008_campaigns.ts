import type { Kysely } from "kysely";
import { type Dialect, timestampType } from "./util";

/**
 * Campaigns (SPEC §8): one push to a segment, fanned out in keyset batches.
 *
 * The durable fan-out state is here, not in a queue: `cursor` is the last subscriber id already
 * given a message row (the audience is walked in id order), `audience_done` says the walk is over,
 * and every recipient's message row (unique on campaign × subscriber, so a replayed batch inserts
 * nothing) is `queued` until a sender claims it. A crash resumes from these rows.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);
  await db.schema
    .createTable("campaigns")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("project_id", "varchar(40)", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    // JSON text: {title, body, iconUrl, imageUrl, clickUrl, badge, actions} as given (UTM not yet applied).
    .addColumn("content", "text", (c) => c.notNull())
    // JSON text: {filters} or {savedSegmentId}, as given.
    .addColumn("segment", "text", (c) => c.notNull())
    // JSON text: the filters the fan-out uses, frozen when sending starts (a saved segment resolved then).
    .addColumn("audience_filters", "text")
    .addColumn("schedule_mode", "varchar(20)", (c) => c.notNull())
    .addColumn("send_at", ts)
    .addColumn("timezone", "varchar(64)")
    // JSON text: {source, medium, campaign} or null.
    .addColumn("utm", "text")
    .addColumn("ttl", "integer")
    .addColumn("urgency", "varchar(10)")
    .addColumn("cursor", "varchar(40)")
    .addColumn("audience_done", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("audience_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("updated_at", ts, (c) => c.notNull())
    .addColumn("started_at", ts)
    .addColumn("completed_at", ts)
    .execute();
  await db.schema.createIndex("campaigns_project_idx").on("campaigns").columns(["project_id", "id"]).execute();
  // The scheduler's and the supervisor's scans: due scheduled campaigns, campaigns still sending.
  await db.schema.createIndex("campaigns_status_idx").on("campaigns").columns(["status", "send_at"]).execute();

  await db.schema.alterTable("messages").addColumn("campaign_id", "varchar(40)", (c) => c.references("campaigns.id").onDelete("cascade")).execute();
  // A queued recipient whose quiet hours defer it: not claimed before this instant.
  await db.schema.alterTable("messages").addColumn("not_before", ts).execute();
  // Engagement reported by the service worker (SPEC §9), counted in campaign stats.
  await db.schema.alterTable("messages").addColumn("displayed_at", ts).execute();
  await db.schema.alterTable("messages").addColumn("clicked_at", ts).execute();
  // One message row per campaign × subscriber (transactional rows have no campaign: NULLs never collide).
  await db.schema.createIndex("messages_campaign_subscriber_uq").on("messages").columns(["campaign_id", "subscriber_id"]).unique().execute();
  // Stats (count by status) and the senders' claim (queued rows of a campaign) without touching other rows.
  await db.schema.createIndex("messages_campaign_status_idx").on("messages").columns(["campaign_id", "status", "id"]).execute();
}

import type { Kysely } from "kysely";
import { type Dialect, timestampType } from "./util";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);

  await db.schema
    .createTable("partners")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .execute();
  // Several secrets per partner: rotation keeps the old one verifying until `expires_at`.
  await db.schema
    .createTable("partner_secrets")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("partner_id", "varchar(40)", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("secret_enc", "text", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("expires_at", ts)
    .execute();
  await db.schema.createIndex("partner_secrets_partner_idx").on("partner_secrets").column("partner_id").execute();

  await db.schema
    .createTable("projects")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("organization_id", "varchar(40)", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("environment", "varchar(10)", (c) => c.notNull())
    .addColumn("timezone", "varchar(64)", (c) => c.notNull().defaultTo("UTC"))
    .addColumn("vapid_public_key", "varchar(100)", (c) => c.notNull())
    .addColumn("vapid_private_key_enc", "text", (c) => c.notNull())
    .addColumn("delivery_policy", "text", (c) => c.notNull())
    .addColumn("rate_limits", "text")
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("updated_at", ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("projects_org_idx").on("projects").columns(["organization_id", "id"]).execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("project_id", "varchar(40)", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("key_hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("prefix", "varchar(10)", (c) => c.notNull())
    .addColumn("last4", "varchar(4)", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("last_used_at", ts)
    .addColumn("revoked_at", ts)
    .execute();
  await db.schema.createIndex("api_keys_project_idx").on("api_keys").columns(["project_id", "id"]).execute();

  await db.schema
    .createTable("subscribers")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("project_id", "varchar(40)", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("token", "varchar(40)", (c) => c.notNull().unique())
    .addColumn("endpoint", "varchar(2048)", (c) => c.notNull())
    .addColumn("p256dh", "varchar(100)", (c) => c.notNull())
    .addColumn("auth", "varchar(40)", (c) => c.notNull())
    .addColumn("external_id", "varchar(200)")
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("user_agent", "varchar(1024)")
    .addColumn("browser", "varchar(100)")
    .addColumn("os", "varchar(100)")
    .addColumn("device_type", "varchar(40)")
    .addColumn("timezone", "varchar(64)")
    .addColumn("language", "varchar(35)")
    .addColumn("country", "varchar(2)")
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("updated_at", ts, (c) => c.notNull())
    .execute();
  // One subscriber per endpoint per project, enforced by the database (concurrent registrations race here).
  await db.schema.createIndex("subscribers_project_endpoint_uq").on("subscribers").columns(["project_id", "endpoint"]).unique().execute();
  await db.schema.createIndex("subscribers_project_external_idx").on("subscribers").columns(["project_id", "external_id"]).execute();
  await db.schema.createIndex("subscribers_project_status_idx").on("subscribers").columns(["project_id", "status", "id"]).execute();

  await db.schema
    .createTable("subscriber_tags")
    .addColumn("subscriber_id", "varchar(40)", (c) => c.notNull().references("subscribers.id").onDelete("cascade"))
    .addColumn("project_id", "varchar(40)", (c) => c.notNull())
    .addColumn("tag", "varchar(64)", (c) => c.notNull())
    .addPrimaryKeyConstraint("subscriber_tags_pk", ["subscriber_id", "tag"])
    .execute();
  await db.schema.createIndex("subscriber_tags_project_tag_idx").on("subscriber_tags").columns(["project_id", "tag", "subscriber_id"]).execute();
}

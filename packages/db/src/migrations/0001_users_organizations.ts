import { type Kysely, sql } from "kysely";
import { type Dialect, timestampType } from "./util";

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const ts = timestampType(dialect);
  await db.schema
    .createTable("users")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("email", "varchar(254)", (c) => c.notNull())
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("updated_at", ts, (c) => c.notNull())
    .execute();
  // Emails are unique case-insensitively, in the database itself.
  await db.schema.createIndex("users_email_lower_uq").on("users").unique().expression(sql`lower(email)`).execute();

  await db.schema
    .createTable("organizations")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("plan", "varchar(20)", (c) => c.notNull().defaultTo("FREE"))
    .addColumn("partner_id", "varchar(40)")
    .addColumn("external_id", "varchar(200)")
    .addColumn("created_at", ts, (c) => c.notNull())
    .addColumn("updated_at", ts, (c) => c.notNull())
    .execute();
  // A partner's tenants are addressed by their external id: one per partner.
  await db.schema.createIndex("organizations_partner_external_uq").on("organizations").columns(["partner_id", "external_id"]).unique().execute();

  await db.schema
    .createTable("memberships")
    .addColumn("id", "varchar(40)", (c) => c.primaryKey())
    .addColumn("organization_id", "varchar(40)", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
    .addColumn("user_id", "varchar(40)", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("role", "varchar(10)", (c) => c.notNull())
    .addColumn("created_at", ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex("memberships_org_user_uq").on("memberships").columns(["organization_id", "user_id"]).unique().execute();
  await db.schema.createIndex("memberships_user_idx").on("memberships").column("user_id").execute();
}

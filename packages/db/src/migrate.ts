import { type Kysely, sql } from "kysely";
import { migrations } from "./migrations";
import type { Dialect } from "./migrations/util";

/**
 * Applies pending migrations in order, each in its own transaction, recording them in
 * `schema_migrations`. On PostgreSQL an advisory lock keeps concurrent starters from racing.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  await db.schema
    .createTable("schema_migrations")
    .ifNotExists()
    .addColumn("name", "varchar(200)", (c) => c.primaryKey())
    .addColumn("applied_at", "varchar(40)", (c) => c.notNull())
    .execute();
  return db.connection().execute(async (conn) => {
    if (dialect === "postgres") await sql`select pg_advisory_lock(74110511)`.execute(conn);
    try {
      const done = new Set((await conn.selectFrom("schema_migrations").select("name").execute()).map((r: any) => r.name));
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.name)) continue;
        await conn.transaction().execute(async (trx) => {
          await m.up(trx, dialect);
          await trx.insertInto("schema_migrations").values({ name: m.name, applied_at: new Date().toISOString() }).execute();
        });
        applied.push(m.name);
      }
      return applied;
    } finally {
      if (dialect === "postgres") await sql`select pg_advisory_unlock(74110511)`.execute(conn);
    }
  });
}

import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { sql } from "kysely";
import pg from "pg";
import { createDb, type Database } from "./create-db";
import { migrateToLatest } from "./migrate";
import type { Dialect } from "./migrations/util";

/** The dialects a test run covers: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function testDialects(): { dialect: Dialect; enabled: boolean; reason?: string }[] {
  const url = process.env.TEST_DATABASE_URL;
  return [
    { dialect: "sqlite", enabled: true },
    { dialect: "postgres", enabled: !!url, ...(url ? {} : { reason: "TEST_DATABASE_URL is not set" }) },
  ];
}

/**
 * A fresh, migrated database for one test file: in-memory SQLite, or on PostgreSQL a schema of
 * its own inside TEST_DATABASE_URL, dropped again by `destroy()`.
 */
export async function createTestDb(dialect: Dialect = "sqlite"): Promise<Database> {
  if (dialect === "sqlite") {
    const database = createDb({ dialect: "sqlite", file: ":memory:" });
    await migrateToLatest(database.db, "sqlite");
    return database;
  }
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("TEST_DATABASE_URL is not set");
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const database = createDb({ dialect: "postgres", url }, { searchPath: schema, poolSize: 5 });
  await migrateToLatest(database.db, "postgres");
  markSuiteRan("postgres");
  return {
    ...database,
    destroy: async () => {
      await sql`drop schema ${sql.id(schema)} cascade`.execute(database.db).catch(() => {});
      await database.destroy();
    },
  };
}

/** Leaves a trace that a suite of this kind really ran, for .ci/run to check (REACHBELL_TEST_MARKERS). */
export function markSuiteRan(kind: string): void {
  const dir = process.env.REACHBELL_TEST_MARKERS;
  if (!dir) return;
  writeFileSync(`${dir}/${kind}-${process.pid}-${randomBytes(3).toString("hex")}`, "ran\n");
}

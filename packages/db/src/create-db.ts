import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { CamelCasePlugin, Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase, sql } from "kysely";
import pg from "pg";
import { BACKSTOP_PAGES, type Checkpointer, startCheckpointer } from "./checkpointer";
import type { Dialect } from "./migrations/util";
import type { DB } from "./schema";

export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  /** Where it points, without credentials (safe to log). */
  description: string;
  ping(): Promise<boolean>;
  destroy(): Promise<void>;
}

export type DbTarget = { dialect: "sqlite"; file: string } | { dialect: "postgres"; url: string };

/** `postgres://` / `postgresql://` → PostgreSQL; `file:` URL, path or `:memory:` → SQLite; unset → `./data/reachbell.db`. */
export function parseDatabaseUrl(url: string | undefined, cwd = process.cwd()): DbTarget {
  if (!url) return { dialect: "sqlite", file: resolve(cwd, "data", "reachbell.db") };
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: "postgres", url };
  if (url === ":memory:") return { dialect: "sqlite", file: ":memory:" };
  if (url.startsWith("file:")) {
    const path = url.replace(/^file:(\/\/)?/, "");
    return { dialect: "sqlite", file: path === ":memory:" ? path : resolve(cwd, path) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new Error(`unsupported DATABASE_URL scheme: ${url.split(":")[0]}`);
  return { dialect: "sqlite", file: resolve(cwd, url) };
}

// pg returns int8 as string and timestamptz as Date: make both JSON-native once, per pool.
const pgTypes = {
  getTypeParser(oid: number, format?: any) {
    if (oid === 20) return (v: string) => Number.parseInt(v, 10);
    if (oid === 1184 || oid === 1114) return (v: string) => new Date(v.includes("+") || v.endsWith("Z") || oid === 1184 ? v : `${v}Z`).toISOString();
    return pg.types.getTypeParser(oid, format);
  },
};

export interface CreateDbOptions {
  /** PostgreSQL only: the schema to use (tests isolate each file in its own). */
  searchPath?: string;
  poolSize?: number;
}

/**
 * Kysely's SQLite driver prepares every query anew, and preparing costs more than running a
 * simple indexed query. Statements are cached by SQL text (bounded, least recently used out).
 * Reusing one is safe: Kysely runs one query at a time per connection (a mutex) and SQLite
 * re-prepares a statement by itself after a schema change.
 */
function withStatementCache(conn: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      conn.close();
    },
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = conn.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  } as SqliteDatabase;
}

export function createDb(target: DbTarget | string | undefined, opts: CreateDbOptions = {}): Database {
  const t = typeof target === "object" ? target : parseDatabaseUrl(target);
  const plugins = [new CamelCasePlugin()];
  if (t.dialect === "sqlite") {
    if (t.file !== ":memory:") mkdirSync(dirname(t.file), { recursive: true });
    const conn = new SQLite(t.file);
    // WAL + synchronous=NORMAL tripled single-row inserts on this machine; durable across crashes of the process.
    conn.pragma("journal_mode = WAL");
    conn.pragma("synchronous = NORMAL");
    conn.pragma("foreign_keys = ON");
    conn.pragma("busy_timeout = 5000");
    // Checkpoints off the event loop (see checkpointer.ts); the writer keeps a far backstop, and takes
    // them back at the default threshold if the worker stops.
    let checkpointer: Checkpointer | undefined;
    if (t.file !== ":memory:") {
      conn.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      checkpointer = startCheckpointer(t.file, () => {
        if (conn.open) conn.pragma("wal_autocheckpoint = 1000");
      });
    }
    const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(conn) }), plugins });
    return {
      db,
      dialect: "sqlite",
      description: `sqlite:${t.file}`,
      ping: async () => conn.prepare("select 1 as ok").get() !== undefined,
      destroy: async () => {
        await checkpointer?.stop();
        await db.destroy();
      },
    };
  }
  const url = new URL(t.url);
  const pool = new pg.Pool({
    connectionString: t.url,
    max: opts.poolSize ?? 10,
    types: pgTypes,
    connectionTimeoutMillis: 5000,
    ...(opts.searchPath ? { options: `-c search_path=${opts.searchPath}` } : {}),
  });
  // An idle client's error (e.g. server restart) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), plugins });
  return {
    db,
    dialect: "postgres",
    description: `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`,
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    destroy: () => db.destroy(),
  };
}

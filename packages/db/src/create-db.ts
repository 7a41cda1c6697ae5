import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { CamelCasePlugin, Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, SqliteDialect, type SqliteDatabase, sql } from "kysely";
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
  /** PostgreSQL only: bounds on every database call (defaults: DEFAULT_DB_TIMEOUTS). */
  timeouts?: Partial<DbTimeouts>;
}

/**
 * Bounds on every PostgreSQL call, so that a database that stops answering (a network partition: no
 * refusal, no reset, just silence) costs a request a bounded time instead of hanging it until TCP
 * gives up. In milliseconds.
 */
export interface DbTimeouts {
  /** Opening a connection (TCP and startup), and waiting for a free pooled one. */
  connectMs: number;
  /**
   * The longest one statement may run: the server cancels it (`statement_timeout`), and the client
   * gives up QUERY_GRACE_MS later if no answer arrives at all (a partition), closing that connection.
   */
  queryMs: number;
  /** Pooled connections unused this long are closed. */
  idleMs: number;
  /** `ping()` answers false after this long (health checks must answer quickly). */
  pingMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DbTimeouts = { connectMs: 5000, queryMs: 10_000, idleMs: 30_000, pingMs: 2000 };

/** How much longer than `queryMs` the client waits for an answer before it calls the connection dead. */
const QUERY_GRACE_MS = 1000;

/** A query that got no answer at all within its bound: its connection is closed. */
export class QueryTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(ms: number) {
    super(`Query read timeout: no answer from the database in ${ms} ms`);
    this.name = "QueryTimeoutError";
  }
}

// Only migrations take a session advisory lock: DDL on a large table, and waiting for another
// instance's migrations, take as long as they take, so such a session runs unbounded (see boundedPool).
const ADVISORY_LOCK = /^\s*select\s+pg_advisory_lock\s*\(/i;

/**
 * The pool Kysely sees: pg's, with a client-side read timeout on every query and broken clients
 * closed instead of returned to the pool. pg's own `query_timeout` is not enough: it rejects the
 * query but leaves the client waiting for the answer, and Kysely returns it to the pool, where every
 * later query on it queues behind the lost one.
 */
function boundedPool(pool: pg.Pool, readTimeoutMs: number): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let broken: Error | undefined;
    let unbounded = false;
    // pg emits a connection lost between queries as an 'error' event; while the client is checked
    // out the pool does not listen, and an unheard 'error' would crash the process.
    client.on("error", (err: Error) => {
      broken ??= err;
    });
    const run = async (text: string, values: readonly unknown[]) => {
      if (broken) throw broken;
      if (!unbounded && ADVISORY_LOCK.test(text)) {
        unbounded = true;
        await client.query("set statement_timeout = 0");
      }
      const pending = client.query(text, values as unknown[]);
      if (unbounded) return pending;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new QueryTimeoutError(readTimeoutMs)), readTimeoutMs);
      });
      try {
        return await Promise.race([pending, timeout]);
      } catch (err) {
        // Anything but an answer from the server (a SQLSTATE) means the connection cannot be trusted.
        if (!isServerError(err)) broken = err as Error;
        throw err;
      } finally {
        clearTimeout(timer);
      }
    };
    return {
      query: ((textOrCursor: unknown, values?: readonly unknown[]) =>
        typeof textOrCursor === "string" ? run(textOrCursor, values ?? []) : client.query(textOrCursor as any)) as PostgresPoolClient["query"],
      release() {
        // A broken client is closed (its socket destroyed if a query is still waiting); so is an
        // unbounded (migration) session, rather than handing its settings to the next request.
        const discard = broken ?? (unbounded ? new Error("unbounded session") : undefined);
        if (discard) wrappers.delete(client);
        client.release(discard);
      },
    };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}

function isServerError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && (err as { severity?: unknown }).severity !== undefined;
}

/** Resolves false after `ms` unless `check` answers first (the check itself is left to finish or fail). */
async function bounded(check: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
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
  const timeouts = { ...DEFAULT_DB_TIMEOUTS, ...opts.timeouts };
  const pool = new pg.Pool({
    connectionString: t.url,
    max: opts.poolSize ?? 10,
    types: pgTypes,
    // Both the TCP/startup handshake of a new connection and the wait for a free pooled one.
    connectionTimeoutMillis: timeouts.connectMs,
    idleTimeoutMillis: timeouts.idleMs,
    // Server side: a statement running longer is cancelled (the connection stays usable).
    statement_timeout: timeouts.queryMs,
    // Lets the kernel notice a peer that vanished while a connection sits idle in the pool.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(opts.searchPath ? { options: `-c search_path=${opts.searchPath}` } : {}),
  });
  // An idle client's error (e.g. server restart) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: boundedPool(pool, timeouts.queryMs + QUERY_GRACE_MS) }), plugins });
  return {
    db,
    dialect: "postgres",
    description: `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`,
    ping: () => bounded(sql`select 1`.execute(db).then(() => true), timeouts.pingMs),
    destroy: () => db.destroy(),
  };
}

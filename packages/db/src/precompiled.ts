import { randomBytes } from "node:crypto";
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from "kysely";
import type { Database } from "./create-db";
import type { Dialect } from "./migrations/util";

// Kysely builds, transforms (CamelCasePlugin) and compiles every query anew: on a hot route that costs
// more than running a simple indexed query. A precompiled query does that once per Kysely instance and
// then only swaps parameter values. Parameters are placed with unique marker strings, so the SQL is
// exactly what Kysely compiled, plugins included; results still go through the plugins (camelCase rows).

const MARKER = `\u0000rbparam:${randomBytes(6).toString("hex")}:`;

export type ParamRef = <T = string>(name: string) => T;

export interface Precompiled<P extends Record<string, unknown>, O> {
  /** Runs the query with these parameter values; rows as Kysely would return them. */
  execute(database: Database, params: P): Promise<O[]>;
  /** Also numAffectedRows, for writes. */
  run(database: Database, params: P): Promise<{ numAffectedRows: bigint | undefined; rows: O[] }>;
  /**
   * A write that may share its commit: on SQLite, calls made in the same event-loop turn run in one
   * transaction (see WriteBatcher); on PostgreSQL the same as `run`. Each call still gets its own
   * result or its own error (a constraint violation fails only that call).
   */
  runBatched(database: Database, params: P): Promise<{ numAffectedRows: bigint | undefined; rows: O[] }>;
}

type Result = QueryResult<unknown>;
interface Pending {
  query: CompiledQuery;
  resolve(r: Result): void;
  reject(e: unknown): void;
}

/**
 * Group commit for SQLite. Every commit appends its pages to the WAL with its own write calls; inserts
 * arriving together (concurrent requests) mostly touch the same index pages, so one transaction for
 * all of them writes those pages once: about 35 µs per insert in batches of 20 against about 175 µs
 * one by one on this machine. Writes queued during one event-loop turn run, in order, in one
 * transaction right after it (the caller waits only for that turn to end). A statement that fails a
 * constraint is rolled back alone by SQLite (the transaction goes on) and only its caller sees the
 * error. Any other failure rolls the whole batch back, and its writes are then retried one by one so
 * each caller gets its own outcome. Callers are answered only after the commit.
 */
class WriteBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly database: Database) {}

  write(query: CompiledQuery): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ query, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    if (batch.length === 1) return this.one(batch[0]!);
    const outcomes: ({ ok: true; r: Result } | { ok: false; e: unknown })[] = [];
    try {
      await this.database.db.transaction().execute(async (trx) => {
        for (const p of batch) {
          try {
            outcomes.push({ ok: true, r: await trx.executeQuery(p.query) });
          } catch (e) {
            if (!isConstraintError(e)) throw e;
            outcomes.push({ ok: false, e });
          }
        }
      });
    } catch {
      for (const p of batch) await this.one(p);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.r);
      else p.reject(o.e);
    });
  }

  private async one(p: Pending): Promise<void> {
    try {
      p.resolve(await this.database.db.executeQuery(p.query));
    } catch (e) {
      p.reject(e);
    }
  }
}

/** SQLite aborts only the failing statement on a constraint violation (ON CONFLICT ABORT, the default). */
function isConstraintError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT");
}

const batchers = new WeakMap<Database, WriteBatcher>();

/**
 * `build(db, param, dialect)` returns the Kysely query with `param("name")` wherever a value goes. It
 * must produce the same SQL for any values (no branching on them): it runs once per database.
 */
export function precompile<P extends Record<string, unknown>, O>(build: (db: Kysely<any>, param: ParamRef, dialect: Dialect) => Compilable<O>): Precompiled<P, O> {
  const compiled = new WeakMap<Database, { sql: string; slots: { name?: string; value?: unknown }[] }>();
  const prepare = (database: Database) => {
    let c = compiled.get(database);
    if (!c) {
      const q = build(database.db, ((name: string) => `${MARKER}${name}`) as ParamRef, database.dialect).compile();
      if (q.sql.includes(MARKER)) throw new Error("precompiled query: a parameter was inlined into the SQL");
      const slots = q.parameters.map((v) => (typeof v === "string" && v.startsWith(MARKER) ? { name: v.slice(MARKER.length) } : { value: v }));
      c = { sql: q.sql, slots };
      compiled.set(database, c);
    }
    return c;
  };
  const compile = (database: Database, params: P): CompiledQuery<O> => {
    const c = prepare(database);
    const parameters = c.slots.map((s) => {
      if (s.name === undefined) return s.value;
      if (!(s.name in params)) throw new Error(`precompiled query: no value for parameter ${s.name}`);
      return params[s.name];
    });
    return CompiledQuery.raw(c.sql, parameters) as CompiledQuery<O>;
  };
  const run = async (database: Database, params: P) => {
    const r = await database.db.executeQuery<O>(compile(database, params));
    return { numAffectedRows: r.numAffectedRows, rows: r.rows };
  };
  const runBatched = async (database: Database, params: P) => {
    if (database.dialect !== "sqlite") return run(database, params);
    let batcher = batchers.get(database);
    if (!batcher) batchers.set(database, (batcher = new WriteBatcher(database)));
    const r = await batcher.write(compile(database, params));
    return { numAffectedRows: r.numAffectedRows, rows: r.rows as O[] };
  };
  return { run, runBatched, execute: async (db, params) => (await run(db, params)).rows };
}

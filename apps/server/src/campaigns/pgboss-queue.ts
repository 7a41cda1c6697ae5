// The PostgreSQL queue: pg-boss 10, its tables in the campaign's database (schema FANOUT_QUEUE_SCHEMA)
// and every statement run through our own Kysely pool, so a job sent with `trx` commits or rolls back
// with the campaign's state change. A job is one slice of one campaign; its handler queues the
// campaign's next slice before completing, so campaigns interleave job by job and any instance takes
// the next one. `chains` jobs per campaign (singleton keys campaign:chain on a `short` queue: at most
// one queued job per key) let several instances work on one campaign at once.
//
// Jobs expire fast and are never retried by pg-boss: a dead instance's slice is simply not continued,
// and the engine's supervisor re-enqueues any sending campaign whose heartbeat went stale. So recovery
// takes FANOUT_STALL_SECONDS, never pg-boss's default expiry of many minutes.

import type { DB } from "@reachbell/db";
import { CompiledQuery, type Kysely, type Transaction, sql } from "kysely";
import PgBoss from "pg-boss";
import type { Logger } from "../logger";
import type { SliceQueue, SliceRunner } from "./slice-queue";

const QUEUE = "campaign-slice";

interface SliceJob {
  campaignId: string;
  chain: number;
}

/** pg-boss's `db` option: its SQL (parameterised, or several statements without parameters) on a Kysely connection. */
function executor(db: Kysely<DB> | Transaction<DB>): PgBoss.Db {
  return {
    async executeSql(text, values) {
      const query = CompiledQuery.raw(text, values ?? []);
      // pg-boss sends its DDL as one string with its own BEGIN … COMMIT. If a statement in it fails,
      // the connection is left inside an aborted transaction: roll back on that same connection before
      // the pool hands it to anyone else (every later query on it would fail otherwise).
      if (db.isTransaction || !/\bBEGIN\b/i.test(text)) return { rows: (await db.executeQuery(query)).rows as unknown[] as any[] };
      return db.connection().execute(async (conn) => {
        try {
          return { rows: (await conn.executeQuery(query)).rows as unknown[] as any[] };
        } catch (e) {
          await conn.executeQuery(CompiledQuery.raw("ROLLBACK")).catch(() => undefined);
          throw e;
        }
      });
    },
  };
}

/** Serialises pg-boss's start (schema install or upgrade, queue creation) across instances starting together. */
const START_LOCK = 74110512;
async function underStartLock<T>(db: Kysely<DB>, run: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${START_LOCK})`.execute(conn);
    try {
      return await run();
    } finally {
      await sql`select pg_advisory_unlock(${START_LOCK})`.execute(conn);
    }
  });
}

export function createPgBossQueue(opts: {
  db: Kysely<DB>;
  schema: string;
  lanes: number;
  chains: number;
  pollMs: number;
  stallSeconds: number;
  logger: Logger;
}): SliceQueue {
  const boss = new PgBoss({
    db: executor(opts.db),
    schema: opts.schema,
    // pg-boss's own maintenance archives and deletes finished jobs; its cron scheduler is not used.
    supervise: true,
    schedule: false,
    migrate: true,
  });
  boss.on("error", (e: Error) => opts.logger.warn("job queue error", { error: e.message }));
  let open = false;
  let runner: SliceRunner | null = null;

  const send = (campaignId: string, chain: number, db: Kysely<DB> | Transaction<DB>, startAfterSeconds = 0) =>
    boss.send(QUEUE, { campaignId, chain } satisfies SliceJob, {
      singletonKey: `${campaignId}:${chain}`,
      ...(startAfterSeconds > 0 ? { startAfter: startAfterSeconds } : {}),
      db: executor(db),
    });

  const handle = async (jobs: PgBoss.Job<SliceJob>[]) => {
    for (const job of jobs) {
      const { campaignId, chain } = job.data;
      let result: Awaited<ReturnType<SliceRunner>>;
      try {
        result = await runner!(campaignId);
      } catch (e) {
        opts.logger.warn("campaign slice failed; retrying later", { campaignId, error: e instanceof Error ? e.message : String(e) });
        result = { kind: "idle", delayMs: 1000 };
      }
      // The next slice is queued before this job completes: if we die in between, the heartbeat goes
      // stale and the supervisor re-enqueues; if it is queued twice, the singleton key keeps one.
      if (result.kind === "more") await send(campaignId, chain, opts.db);
      else if (result.kind === "idle") await send(campaignId, chain, opts.db, result.delayMs / 1000);
    }
  };

  return {
    ready: () => open,
    async enqueue(campaignId, trx) {
      for (let chain = 0; chain < opts.chains; chain++) await send(campaignId, chain, trx ?? opts.db);
    },
    async start(r) {
      runner = r;
      // Two instances installing pg-boss's schema at once race (one fails mid-DDL): take turns.
      await underStartLock(opts.db, async () => {
        await boss.start();
        await boss.createQueue(QUEUE, { name: QUEUE, policy: "short", retryLimit: 0, expireInSeconds: Math.max(opts.stallSeconds, 10) });
      });
      open = true;
      if (!r) return;
      for (let i = 0; i < opts.lanes; i++) {
        await boss.work<SliceJob>(QUEUE, { batchSize: 1, pollingIntervalSeconds: Math.max(0.5, opts.pollMs / 1000) }, handle);
      }
    },
    async stop() {
      if (!open) return;
      open = false;
      // graceful: running slices finish their chunk (they see the engine stopping) and queue their next slice.
      await boss.stop({ graceful: true, wait: true, timeout: 15_000, close: false });
    },
  };
}

// The campaign fan-out engine: wires the slice handler (slice.ts) to a queue (pg-boss on PostgreSQL,
// in-process on SQLite), and runs the scheduler (due scheduled campaigns) and the supervisor (expired
// claims, stalled campaigns) on timers. All durable state is in the database; this object holds only
// timers and the per-origin pauses, so any instance can stop or die at any time.

import type { Deps } from "../context";
import { type CryptoPool, createCryptoPool } from "./crypto-pool";
import type { Fanout } from "./fanout";
import { createLocalQueue } from "./local-queue";
import { createPgBossQueue } from "./pgboss-queue";
import { startDueCampaigns } from "./scheduler";
import { type SliceContext, runSlice } from "./slice";
import type { SliceQueue } from "./slice-queue";
import { requeueExpiredClaims, reviveStalledCampaigns } from "./supervisor";

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Calls `fn` every `ms`, never overlapping itself; `stop()` waits for a running call. */
function every(ms: number, fn: () => Promise<void>) {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = fn().finally(() => {
      running = null;
    });
  }, ms);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export function createFanout(deps: Omit<Deps, "fanout">): Fanout {
  const cfg = deps.config.fanout;
  const pg = deps.database.dialect === "postgres";
  const log = deps.logger;
  const queue: SliceQueue = pg
    ? createPgBossQueue({ db: deps.database.db, schema: cfg.queueSchema, lanes: cfg.lanes, chains: cfg.chains, pollMs: cfg.pollMs, stallSeconds: cfg.stallSeconds, logger: log })
    : createLocalQueue({ lanes: cfg.lanes, chains: cfg.chains, logger: log });
  let running = false;
  let stopping = false;
  let loops: { stop(): Promise<void> }[] = [];
  const ctx: SliceContext = { deps, pauses: new Map(), crypto: null, stopping: () => stopping };

  const supervise = async () => {
    try {
      const requeued = await requeueExpiredClaims(deps);
      if (requeued > 0) log.info("re-queued expired campaign claims", { messages: requeued });
      if (pg) {
        const revived = await reviveStalledCampaigns(deps, (id, trx) => queue.enqueue(id, trx));
        if (revived.length > 0) log.info("re-enqueued stalled campaigns", { campaigns: revived });
      } else {
        // In-process: what is sending is simply offered again (a campaign already queued is not doubled).
        const sending = await deps.database.db.selectFrom("campaigns").select("id").where("status", "=", "sending").execute();
        for (const { id } of sending) await queue.enqueue(id);
      }
    } catch (e) {
      log.warn("fan-out supervisor failed", { error: errorText(e) });
    }
  };
  const schedule = async () => {
    try {
      const started = await startDueCampaigns(deps, fanout);
      if (started.length > 0) log.info("started scheduled campaigns", { campaigns: started });
    } catch (e) {
      log.warn("campaign scheduler failed", { error: errorText(e) });
    }
  };

  const fanout: Fanout = {
    async begin(trx, campaignId) {
      // PostgreSQL: the job commits with the state change. When this process never opened the queue
      // (an app built without start(), e.g. in tests), the supervisor of whichever instance runs the
      // engine picks the campaign up from its missing heartbeat.
      if (!pg || !queue.ready()) return;
      await trx.updateTable("campaigns").set({ fanoutHeartbeatAt: deps.clock().toISOString() }).where("id", "=", campaignId).execute();
      await queue.enqueue(campaignId, trx);
    },
    changed(campaignId) {
      // SQLite: the in-process queue learns of a start or resume here, after the commit. PostgreSQL
      // slices read the status themselves (a pause or cancel takes effect at the next chunk).
      if (!pg && running && !stopping) void queue.enqueue(campaignId).catch(() => {});
    },
    async start() {
      if (running) return;
      running = true;
      stopping = false;
      if (!cfg.enabled) {
        // An API-only instance still opens the PostgreSQL queue so that starting a campaign enqueues its job.
        if (pg) await queue.start(null);
        else log.warn("FANOUT=off on SQLite: campaigns will not be sent by this process (one process owns the file)");
        return;
      }
      if (cfg.cryptoThreads > 0) ctx.crypto = createCryptoPool({ threads: cfg.cryptoThreads, logger: log });
      await queue.start((id) => runSlice(ctx, id));
      // Resume from the database: claims a crash left behind, campaigns still sending, schedules due.
      await supervise();
      await schedule();
      const superviseMs = (Math.min(deps.config.inFlightLeaseSeconds, cfg.stallSeconds) * 1000) / 2;
      loops = [every(Math.max(100, superviseMs), supervise), every(cfg.pollMs, schedule)];
      log.info("campaign fan-out started", { queue: pg ? "pg-boss" : "in-process", lanes: cfg.lanes, chains: cfg.chains, cryptoThreads: cfg.cryptoThreads });
    },
    async stop() {
      if (!running) return;
      stopping = true;
      await Promise.all(loops.map((l) => l.stop()));
      loops = [];
      await queue.stop();
      const crypto: CryptoPool | null = ctx.crypto;
      ctx.crypto = null;
      await crypto?.close();
      running = false;
    },
  };
  return fanout;
}

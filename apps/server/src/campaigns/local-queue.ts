// The SQLite queue: in-process, in memory. Each sending campaign owns up to `chains` tokens; `lanes`
// loops take tokens first-in first-out, so campaigns interleave slice by slice (a huge campaign never
// starves a small one). Nothing here is durable and nothing needs to be: the engine rebuilds it from
// the campaigns still `sending` at start and re-offers them on every supervisor tick.

import type { Logger } from "../logger";
import type { SliceQueue, SliceRunner } from "./slice-queue";

export function createLocalQueue(opts: { lanes: number; chains: number; logger: Logger }): SliceQueue {
  const ready: string[] = [];
  /** Tokens per campaign: queued, running or waiting on a timer. */
  const owned = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let runner: SliceRunner | null = null;
  let stopping = false;
  const waiters: (() => void)[] = [];
  let lanes: Promise<void>[] = [];

  const push = (id: string) => {
    ready.push(id);
    waiters.shift()?.();
  };
  const release = (id: string) => {
    const n = (owned.get(id) ?? 1) - 1;
    if (n <= 0) owned.delete(id);
    else owned.set(id, n);
  };

  const lane = async () => {
    while (!stopping) {
      const id = ready.shift();
      if (id === undefined) {
        await new Promise<void>((resolve) => waiters.push(resolve));
        continue;
      }
      let result: Awaited<ReturnType<SliceRunner>>;
      try {
        result = await runner!(id);
      } catch (e) {
        opts.logger.warn("campaign slice failed; retrying later", { campaignId: id, error: e instanceof Error ? e.message : String(e) });
        result = { kind: "idle", delayMs: 1000 };
      }
      if (result.kind === "stop" || stopping) release(id);
      else if (result.kind === "more") push(id);
      else {
        const t = setTimeout(() => {
          timers.delete(t);
          push(id);
        }, result.delayMs);
        t.unref();
        timers.add(t);
      }
    }
  };

  return {
    ready: () => true,
    async enqueue(campaignId) {
      const have = owned.get(campaignId) ?? 0;
      for (let i = have; i < opts.chains; i++) push(campaignId);
      if (have < opts.chains) owned.set(campaignId, opts.chains);
    },
    async start(r) {
      runner = r;
      if (!r) return;
      stopping = false;
      lanes = Array.from({ length: opts.lanes }, () => lane());
    },
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Wake every idle lane so it sees `stopping`.
      for (const w of waiters.splice(0)) w();
      await Promise.all(lanes);
      lanes = [];
      ready.length = 0;
      owned.clear();
    },
  };
}

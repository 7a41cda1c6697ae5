// Leases on in-flight sends (an `in_flight` Idempotency-Key, a `pending` message). A lease lasts
// config.inFlightLeaseSeconds from the injectable clock and is renewed every third of that while the
// work runs, so only a crashed (or stalled) instance's leases run out: then a retry takes the key
// over and settleInterrupted() gives the message its final outcome.

import type { Deps } from "../context";

export const leaseMs = (deps: Pick<Deps, "config">) => deps.config.inFlightLeaseSeconds * 1000;

/** When a lease taken now would end (ISO, like every stored timestamp). */
export const leaseUntil = (deps: Pick<Deps, "config" | "clock">) => new Date(deps.clock().getTime() + leaseMs(deps)).toISOString();

/**
 * Calls `renew` every third of the lease until the returned stop function is called. `renew` answers
 * false when the lease is no longer held (renewals stop). A failed renewal is logged and retried at
 * the next tick: two more chances before the lease runs out.
 */
export function keepLease(deps: Pick<Deps, "config" | "logger">, what: string, renew: () => Promise<boolean>): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    renew()
      .then((held) => {
        if (!held) {
          clearInterval(timer);
          deps.logger.warn("lease lost while the work was still running", { what });
        }
      })
      .catch((e: unknown) => deps.logger.warn("lease renewal failed", { what, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        running = false;
      });
  }, Math.max(100, Math.floor(leaseMs(deps) / 3)));
  timer.unref();
  return () => clearInterval(timer);
}

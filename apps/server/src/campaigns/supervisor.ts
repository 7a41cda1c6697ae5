// Recovery, on every instance, every lease period (safe to run concurrently):
// - campaign rows left `pending` by a dead instance (lease run out) go back to `queued`: at-least-once,
//   so a recipient whose push left before the crash but whose result was not written may get it twice;
//   that is at most the rows that instance had claimed and not yet recorded (lanes × FANOUT_CHUNK_SIZE).
// - a `sending` campaign whose heartbeat is older than FANOUT_STALL_SECONDS has lost its queue job:
//   one instance (a conditional update on the heartbeat decides which) queues it again.

import type { DB } from "@reachbell/db";
import type { Transaction } from "kysely";
import type { Deps } from "../context";
import { settleCancelled } from "./slice";

/** Re-queues expired campaign claims; returns how many. Transactional pending rows are settleInterrupted()'s. */
export async function requeueExpiredClaims(deps: Pick<Deps, "database" | "clock">): Promise<number> {
  const nowIso = deps.clock().toISOString();
  const rows = await deps.database.db
    .updateTable("messages")
    .set({ status: "queued", leaseExpiresAt: null })
    .where("campaignId", "is not", null)
    .where("status", "=", "pending")
    .where("leaseExpiresAt", "<=", nowIso)
    .returning("campaignId")
    .execute();
  for (const id of new Set(rows.map((r) => r.campaignId as string))) await settleCancelled(deps, id);
  return rows.length;
}

/** Re-offers stalled sending campaigns to the queue; returns their ids. */
export async function reviveStalledCampaigns(
  deps: Pick<Deps, "database" | "clock" | "config">,
  enqueue: (campaignId: string, trx: Transaction<DB>) => Promise<void>,
): Promise<string[]> {
  const now = deps.clock();
  const cutoff = new Date(now.getTime() - deps.config.fanout.stallSeconds * 1000).toISOString();
  const stale = await deps.database.db
    .selectFrom("campaigns")
    .select("id")
    .where("status", "=", "sending")
    .where((eb) => eb.or([eb("fanoutHeartbeatAt", "is", null), eb("fanoutHeartbeatAt", "<", cutoff)]))
    .execute();
  const revived: string[] = [];
  for (const { id } of stale) {
    const took = await deps.database.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable("campaigns")
        .set({ fanoutHeartbeatAt: now.toISOString() })
        .where("id", "=", id)
        .where("status", "=", "sending")
        .where((eb) => eb.or([eb("fanoutHeartbeatAt", "is", null), eb("fanoutHeartbeatAt", "<", cutoff)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await enqueue(id, trx);
      return true;
    });
    if (took) revived.push(id);
  }
  return revived;
}

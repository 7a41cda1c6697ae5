// Moving a campaign to `sending`: the one place it happens, whether an API call (send now, resume,
// create/edit with `immediate`) or the scheduler does it.

import type { DB } from "@reachbell/db";
import type { Transaction } from "kysely";
import type { Deps } from "../context";

/**
 * Inside `trx`: marks the campaign `sending` and hands it to the fan-out (whose job, on PostgreSQL,
 * commits with this change). The first start evaluates a saved segment now (SPEC §8: segments are
 * evaluated when used) and freezes the filters in `audience_filters`, so a resumed or recovered
 * fan-out walks the same audience; if the saved segment was deleted meanwhile, the filters copied
 * when the campaign was created or last edited are used. The caller has checked the status allows it.
 */
export async function markSending(deps: Pick<Deps, "fanout">, trx: Transaction<DB>, campaignId: string, now: Date): Promise<void> {
  const c = await trx.selectFrom("campaigns").select(["projectId", "segment", "audienceFilters", "startedAt"]).where("id", "=", campaignId).executeTakeFirstOrThrow();
  let filters = c.audienceFilters;
  if (c.startedAt === null) {
    const segment = JSON.parse(c.segment) as { filters?: unknown; savedSegmentId?: string };
    if (segment.savedSegmentId !== undefined) {
      const saved = await trx.selectFrom("segments").select("filters").where("id", "=", segment.savedSegmentId).where("projectId", "=", c.projectId).executeTakeFirst();
      if (saved) filters = saved.filters;
    } else {
      filters = JSON.stringify(segment.filters ?? {});
    }
  }
  const iso = now.toISOString();
  await trx
    .updateTable("campaigns")
    .set({ status: "sending", audienceFilters: filters ?? "{}", startedAt: c.startedAt ?? iso, updatedAt: iso })
    .where("id", "=", campaignId)
    .execute();
  await deps.fanout.begin(trx, campaignId);
}

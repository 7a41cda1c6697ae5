// Materialising the audience: one keyset step gives the next batch of matching subscribers their
// `queued` message row. The campaign row is the cursor (PostgreSQL: locked for the step, so instances
// take consecutive batches), and the unique (campaign, subscriber) key makes a replayed step harmless.

import type { SegmentFilters } from "@reachbell/contract";
import { newId } from "@reachbell/db";
import type { Deps } from "../context";
import { pushPayload } from "../push/deliver";
import { audienceWhere } from "../services/segment-filter";
import type { CampaignRun } from "./run-context";

/** "more": a full batch was written; "done": the audience is complete; "stopped": the campaign is no longer sending. */
export async function materialiseBatch(deps: Pick<Deps, "database" | "clock">, run: CampaignRun, batchSize: number): Promise<"more" | "done" | "stopped"> {
  const { db, dialect } = deps.database;
  return db.transaction().execute(async (trx) => {
    let q = trx.selectFrom("campaigns").select(["status", "audienceDone", "cursor", "audienceFilters", "audienceCount"]).where("id", "=", run.id);
    if (dialect === "postgres") q = q.forUpdate();
    const c = await q.executeTakeFirst();
    if (!c || c.status !== "sending") return "stopped";
    if (Number(c.audienceDone) === 1) return "done";
    const now = deps.clock();
    const filters = JSON.parse(c.audienceFilters ?? "{}") as SegmentFilters;
    let sq = trx.selectFrom("subscribers").select("subscribers.id").where(audienceWhere(run.project.id, filters, now)).orderBy("subscribers.id").limit(batchSize);
    if (c.cursor !== null) sq = sq.where("subscribers.id", ">", c.cursor);
    const ids = (await sq.execute()).map((r) => r.id);
    const createdAt = now.toISOString();
    if (ids.length > 0) {
      const rows = ids.map((subscriberId) => {
        const id = newId("msg");
        return {
          id,
          projectId: run.project.id,
          subscriberId,
          campaignId: run.id,
          kind: "campaign" as const,
          mode: run.mode,
          payload: pushPayload(run.content, id),
          status: "queued" as const,
          reason: null,
          pushStatus: null,
          attempts: "[]",
          createdAt,
          completedAt: null,
          durationMs: null,
          leaseExpiresAt: null,
          notBefore: null,
        };
      });
      await trx
        .insertInto("messages")
        .values(rows)
        .onConflict((oc) => oc.columns(["campaignId", "subscriberId"]).doNothing())
        .execute();
    }
    const done = ids.length < batchSize;
    await trx
      .updateTable("campaigns")
      .set({ cursor: ids.length > 0 ? ids[ids.length - 1] : c.cursor, audienceCount: Number(c.audienceCount) + ids.length, audienceDone: done ? 1 : 0 })
      .where("id", "=", run.id)
      .execute();
    return done ? "done" : "more";
  });
}

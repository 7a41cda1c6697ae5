// Starting scheduled campaigns when their time comes (deps.clock, so tests drive it). Exactly once
// however many instances tick: the row is re-read under a lock (PostgreSQL FOR UPDATE; SQLite
// serialises writers) and only a campaign still `scheduled` and due is moved, through markSending.

import type { Deps } from "../context";
import type { Fanout } from "./fanout";
import { markSending } from "./start";

export async function startDueCampaigns(deps: Pick<Deps, "database" | "clock">, fanout: Fanout): Promise<string[]> {
  const now = deps.clock();
  const nowIso = now.toISOString();
  const due = await deps.database.db.selectFrom("campaigns").select("id").where("status", "=", "scheduled").where("sendAt", "<=", nowIso).orderBy("sendAt").limit(100).execute();
  const started: string[] = [];
  for (const { id } of due) {
    const moved = await deps.database.db.transaction().execute(async (trx) => {
      let q = trx.selectFrom("campaigns").select("id").where("id", "=", id).where("status", "=", "scheduled").where("sendAt", "<=", nowIso);
      if (deps.database.dialect === "postgres") q = q.forUpdate();
      if (!(await q.executeTakeFirst())) return false;
      await markSending({ fanout }, trx, id, now);
      return true;
    });
    if (moved) {
      started.push(id);
      fanout.changed(id);
    }
  }
  return started;
}

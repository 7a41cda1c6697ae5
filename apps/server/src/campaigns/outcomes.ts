// Writing a chunk's results: one statement per kind of result on PostgreSQL (UPDATE … FROM VALUES),
// one transaction of prepared single-row updates on SQLite (in-process, microseconds each). Never one
// round trip per recipient over the network.

import { sql } from "kysely";
import type { Deps } from "../context";

export interface FinalOutcome {
  messageId: string;
  subscriberId: string;
  status: "delivered" | "simulated" | "failed";
  reason: string | null;
  pushStatus: number | null;
  /** JSON text: every attempt so far. */
  attempts: string;
  durationMs: number;
  /** 404/410: the subscription is gone. */
  expireSubscriber: boolean;
}

export interface Requeue {
  messageId: string;
  notBefore: string;
  attempts: string;
}

/**
 * Final results overwrite `pending` (ours) or `queued` (the supervisor re-queued it after our lease ran
 * out: the push went out, so record it rather than send it again); a row another sender already
 * finished is left alone. Re-queues only touch rows still pending.
 */
export async function recordOutcomes(deps: Pick<Deps, "database" | "clock">, finals: FinalOutcome[], requeues: Requeue[]): Promise<void> {
  const { db, dialect } = deps.database;
  const completedAt = deps.clock().toISOString();
  const expired = finals.filter((f) => f.expireSubscriber).map((f) => f.subscriberId);
  if (dialect === "postgres") {
    if (finals.length > 0) {
      const values = sql.join(finals.map((f) => sql`(${f.messageId}, ${f.status}, ${f.reason}, ${f.pushStatus}::int, ${f.attempts}, ${f.durationMs}::int)`));
      await sql`update messages as m set status = v.status, reason = v.reason, push_status = v.push_status, attempts = v.attempts,
        duration_ms = v.duration_ms, completed_at = ${completedAt}, lease_expires_at = null
        from (values ${values}) as v(id, status, reason, push_status, attempts, duration_ms)
        where m.id = v.id and m.status in ('pending', 'queued')`.execute(db);
    }
    if (requeues.length > 0) {
      const values = sql.join(requeues.map((r) => sql`(${r.messageId}, ${r.notBefore}::timestamptz, ${r.attempts})`));
      await sql`update messages as m set status = 'queued', not_before = v.not_before, attempts = v.attempts, lease_expires_at = null
        from (values ${values}) as v(id, not_before, attempts)
        where m.id = v.id and m.status = 'pending'`.execute(db);
    }
    if (expired.length > 0) await db.updateTable("subscribers").set({ status: "expired", updatedAt: completedAt }).where("id", "in", expired).execute();
    return;
  }
  await db.transaction().execute(async (trx) => {
    for (const f of finals) {
      await trx
        .updateTable("messages")
        .set({ status: f.status, reason: f.reason, pushStatus: f.pushStatus, attempts: f.attempts, durationMs: f.durationMs, completedAt, leaseExpiresAt: null })
        .where("id", "=", f.messageId)
        .where("status", "in", ["pending", "queued"])
        .execute();
    }
    for (const r of requeues) {
      await trx.updateTable("messages").set({ status: "queued", notBefore: r.notBefore, attempts: r.attempts, leaseExpiresAt: null }).where("id", "=", r.messageId).where("status", "=", "pending").execute();
    }
    if (expired.length > 0) await trx.updateTable("subscribers").set({ status: "expired", updatedAt: completedAt }).where("id", "in", expired).execute();
  });
}

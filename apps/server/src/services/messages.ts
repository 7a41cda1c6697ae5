import type { Scope } from "../auth/principal";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { toMessage } from "../mappers";
import { leaseMs } from "../push/lease";

export async function get(deps: Deps, scope: Scope, id: string) {
  let q = deps.database.db
    .selectFrom("messages")
    .innerJoin("projects", "projects.id", "messages.projectId")
    .selectAll("messages")
    .where("messages.id", "=", id)
    .where("projects.organizationId", "=", scope.orgId);
  if (scope.projectId) q = q.where("messages.projectId", "=", scope.projectId);
  const row = await q.executeTakeFirst();
  if (!row) throw new DomainError("MESSAGE_NOT_FOUND");
  return toMessage(row);
}

/** What a settled message's attempts say: the push may or may not have reached the push service. */
const INTERRUPTED_ATTEMPTS = (at: string) => JSON.stringify([{ at, status: null, error: "interrupted", durationMs: 0 }]);

/**
 * Settles what a crashed (or stalled) instance left in flight, once its lease has run out (never a
 * live instance's work: that one keeps renewing its leases). A `pending` message becomes `failed`
 * with reason `provider_error` and one attempt `{error: "interrupted"}`: whether the push reached the
 * push service is unknown, and only delivered/simulated messages (and unexpired pending ones) count
 * against the frequency cap. Campaign messages are not touched: the fan-out's supervisor re-queues
 * them. An `in_flight` Idempotency-Key is released, so a retry runs afresh
 * (a retry would also take it over by itself). Safe to run from several instances at once.
 */
export async function settleInterrupted(deps: Pick<Deps, "database" | "clock" | "config">): Promise<{ messages: number; idempotencyKeys: number }> {
  const db = deps.database.db;
  const now = deps.clock();
  const nowIso = now.toISOString();
  // Rows written before leases existed have none: judged by creation time.
  const legacyBefore = new Date(now.getTime() - leaseMs(deps)).toISOString();
  const messages = await db
    .updateTable("messages")
    .set({ status: "failed", reason: "provider_error", attempts: INTERRUPTED_ATTEMPTS(nowIso), completedAt: nowIso, leaseExpiresAt: null })
    .where("status", "=", "pending")
    // Campaign rows are re-queued instead (campaigns/supervisor.ts): their recipient still gets the push.
    .where("campaignId", "is", null)
    .where((eb) => eb.or([eb("leaseExpiresAt", "<=", nowIso), eb.and([eb("leaseExpiresAt", "is", null), eb("createdAt", "<=", legacyBefore)])]))
    .executeTakeFirst();
  const keys = await db
    .deleteFrom("idempotencyKeys")
    .where("state", "=", "in_flight")
    .where((eb) => eb.or([eb("leaseExpiresAt", "<=", nowIso), eb.and([eb("leaseExpiresAt", "is", null), eb("createdAt", "<=", legacyBefore)])]))
    .executeTakeFirst();
  return { messages: Number(messages.numUpdatedRows), idempotencyKeys: Number(keys.numDeletedRows) };
}

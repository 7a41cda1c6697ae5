import { createHash, randomBytes } from "node:crypto";
import type { Deps } from "../context";
import { isUniqueViolation } from "../db-errors";
import { DomainError } from "../errors";
import { keepLease, leaseMs, leaseUntil } from "../push/lease";

const REPLAY_WINDOW_MS = 24 * 3600 * 1000;

/** Stable JSON: object keys sorted, so the same body always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export function readIdempotencyKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers["idempotency-key"];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new DomainError("VALIDATION", { extra: { errors: [{ path: "Idempotency-Key", message: "1-255 visible ASCII characters" }] } });
  }
  return key;
}

/** SHA-256 of the canonical JSON of a request body: what a repeat with the same key must match. */
export function idempotencyRequestHash(body: unknown): string {
  return createHash("sha256").update(canonical(body)).digest("hex");
}

/**
 * Runs `work` at most once per (project, Idempotency-Key) within 24 h. A repeat with the same body
 * gets the stored response (`replayed: true`); with a different body → 422; while the first is
 * still running → 409. If `work` fails, the key is released so the client can retry.
 *
 * "Still running" is a lease (config.inFlightLeaseSeconds), renewed while `work` runs: if the
 * instance running it crashed, the lease runs out and the next retry takes the key over (a
 * compare-and-set on the lease, so only one retry wins) instead of getting 409 for 24 h.
 */
export async function withIdempotency<T>(deps: Deps, projectId: string, key: string | undefined, body: unknown, work: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
  if (key === undefined) return { result: await work(), replayed: false };
  const db = deps.database.db;
  const requestHash = idempotencyRequestHash(body);
  const owner = randomBytes(12).toString("base64url");
  const now = deps.clock();
  for (let attempt = 0; ; attempt++) {
    try {
      await db
        .insertInto("idempotencyKeys")
        .values({ projectId, key, requestHash, state: "in_flight", response: null, createdAt: now.toISOString(), leaseOwner: owner, leaseExpiresAt: leaseUntil(deps) })
        .execute();
      break;
    } catch (e) {
      // Each further round follows a row that changed under us (expired, released, taken over): a few suffice.
      if (!isUniqueViolation(e) || attempt > 2) throw e;
      const row = await db.selectFrom("idempotencyKeys").selectAll().where("projectId", "=", projectId).where("key", "=", key).executeTakeFirst();
      if (!row) continue;
      if (Date.parse(row.createdAt) < now.getTime() - REPLAY_WINDOW_MS && (row.state === "done" || leaseExpired(deps, row, now))) {
        await db.deleteFrom("idempotencyKeys").where("projectId", "=", projectId).where("key", "=", key).where("createdAt", "=", row.createdAt).execute();
        continue;
      }
      if (row.requestHash !== requestHash) throw new DomainError("IDEMPOTENCY_KEY_REUSED");
      if (row.state === "done" && row.response !== null) return { result: JSON.parse(row.response) as T, replayed: true };
      if (!leaseExpired(deps, row, now)) throw new DomainError("IDEMPOTENCY_KEY_IN_FLIGHT");
      // The attempt holding it is gone: take the key over, only if nobody else did since we read it.
      const taken = await db
        .updateTable("idempotencyKeys")
        .set({ leaseOwner: owner, leaseExpiresAt: leaseUntil(deps) })
        .where("projectId", "=", projectId)
        .where("key", "=", key)
        .where("state", "=", "in_flight")
        .where("leaseOwner", row.leaseOwner === null ? "is" : "=", row.leaseOwner)
        .where("leaseExpiresAt", row.leaseExpiresAt === null ? "is" : "=", row.leaseExpiresAt)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 1) {
        deps.logger.info("idempotency key taken over after its lease expired", { projectId, leaseExpiresAt: row.leaseExpiresAt });
        break;
      }
    }
  }
  const mine = () =>
    db.updateTable("idempotencyKeys").where("projectId", "=", projectId).where("key", "=", key).where("state", "=", "in_flight").where("leaseOwner", "=", owner);
  const stopRenewing = keepLease(deps, "idempotency key", async () => Number((await mine().set({ leaseExpiresAt: leaseUntil(deps) }).executeTakeFirst()).numUpdatedRows) === 1);
  try {
    const result = await work();
    stopRenewing();
    // Only while still ours: an attempt that lost its lease (it stalled past it) leaves the key to the one that took it.
    await mine().set({ state: "done", response: JSON.stringify(result), leaseOwner: null, leaseExpiresAt: null }).execute();
    return { result, replayed: false };
  } catch (e) {
    stopRenewing();
    await db.deleteFrom("idempotencyKeys").where("projectId", "=", projectId).where("key", "=", key).where("leaseOwner", "=", owner).execute().catch(() => {});
    throw e;
  }
}

/** Rows written before leases existed have none: they count as held for one lease from creation. */
function leaseExpired(deps: Deps, row: { leaseExpiresAt: string | null; createdAt: string }, now: Date): boolean {
  const until = row.leaseExpiresAt !== null ? Date.parse(row.leaseExpiresAt) : Date.parse(row.createdAt) + leaseMs(deps);
  return until <= now.getTime();
}

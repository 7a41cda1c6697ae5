import { createHash } from "node:crypto";
import type { Deps } from "../context";
import { isUniqueViolation } from "../db-errors";
import { DomainError } from "../errors";

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

/**
 * Runs `work` at most once per (project, Idempotency-Key) within 24 h. A repeat with the same body
 * gets the stored response (`replayed: true`); with a different body → 422; while the first is
 * still running → 409. If `work` fails, the key is released so the client can retry.
 */
export async function withIdempotency<T>(deps: Deps, projectId: string, key: string | undefined, body: unknown, work: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
  if (key === undefined) return { result: await work(), replayed: false };
  const db = deps.database.db;
  const requestHash = createHash("sha256").update(canonical(body)).digest("hex");
  const now = deps.clock();
  for (let attempt = 0; ; attempt++) {
    try {
      await db.insertInto("idempotencyKeys").values({ projectId, key, requestHash, state: "in_flight", response: null, createdAt: now.toISOString() }).execute();
      break;
    } catch (e) {
      if (!isUniqueViolation(e) || attempt > 0) throw e;
      const row = await db.selectFrom("idempotencyKeys").selectAll().where("projectId", "=", projectId).where("key", "=", key).executeTakeFirst();
      if (!row) continue;
      if (Date.parse(row.createdAt) < now.getTime() - REPLAY_WINDOW_MS) {
        await db.deleteFrom("idempotencyKeys").where("projectId", "=", projectId).where("key", "=", key).where("createdAt", "=", row.createdAt).execute();
        continue;
      }
      if (row.requestHash !== requestHash) throw new DomainError("IDEMPOTENCY_KEY_REUSED");
      if (row.state !== "done" || row.response === null) throw new DomainError("IDEMPOTENCY_KEY_IN_FLIGHT");
      return { result: JSON.parse(row.response) as T, replayed: true };
    }
  }
  try {
    const result = await work();
    await db.updateTable("idempotencyKeys").set({ state: "done", response: JSON.stringify(result) }).where("projectId", "=", projectId).where("key", "=", key).execute();
    return { result, replayed: false };
  } catch (e) {
    await db.deleteFrom("idempotencyKeys").where("projectId", "=", projectId).where("key", "=", key).execute().catch(() => {});
    throw e;
  }
}

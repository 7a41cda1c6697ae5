/** True when a write failed on a unique index, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string } | undefined;
  return e?.code === "23505" || e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * True when a write failed because a row it references is gone (on either dialect), typically because
 * its project or organization was deleted while the request was under way. Follows `cause` (tRPC wraps
 * what a procedure throws).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === "object" && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === "23503" || e.code === "SQLITE_CONSTRAINT_FOREIGNKEY") return true;
  }
  return false;
}

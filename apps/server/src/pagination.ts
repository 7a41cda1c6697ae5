import type { SelectQueryBuilder } from "kysely";
import { DomainError } from "./errors";

// Cursor pagination over time-ordered ids: the cursor is the last id of the page, opaque to clients.

/** What a cursor decodes to: an id as `newId()` makes them (`prefix_` + 26 Crockford base32 characters). */
const CURSOR_ID = /^[a-z]{1,8}_[0-9A-HJKMNP-TV-Z]{26}$/;

export function encodeCursor(id: string): string {
  return Buffer.from(id).toString("base64url");
}

/**
 * The id a cursor stands for; undefined for no cursor (the first page). A cursor this server did not
 * issue (not base64url, or not an id once decoded: garbage, NUL, invalid UTF-8) is 400, the same on
 * every database, rather than a silently empty page or a database error.
 */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const unpadded = cursor.replace(/={1,2}$/, "");
  const id = /^[A-Za-z0-9_-]+$/.test(unpadded) ? Buffer.from(unpadded, "base64url").toString("latin1") : "";
  if (!CURSOR_ID.test(id) || encodeCursor(id) !== unpadded) throw new DomainError("MALFORMED_CURSOR");
  return id;
}

/** Runs `query` ordered by `idColumn`, fetching one extra row to know whether there is a next page. */
export async function paginate<DB, TB extends keyof DB, O extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, O>,
  idColumn: string,
  input: { limit?: number | undefined; cursor?: string | undefined },
): Promise<{ rows: O[]; nextCursor: string | null }> {
  const limit = input.limit ?? 50;
  const after = decodeCursor(input.cursor);
  let q = query as SelectQueryBuilder<any, any, O>;
  if (after) q = q.where(idColumn, ">", after);
  const rows = await q.orderBy(idColumn, "asc").limit(limit + 1).execute();
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { rows: page, nextCursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
}

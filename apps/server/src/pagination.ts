import type { SelectQueryBuilder } from "kysely";

// Cursor pagination over time-ordered ids: the cursor is the last id of the page, opaque to clients.

export function encodeCursor(id: string): string {
  return Buffer.from(id).toString("base64url");
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  return Buffer.from(cursor, "base64url").toString("utf8");
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

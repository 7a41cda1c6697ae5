import type { SegmentFilters } from "@reachbell/contract";
import { type DB, type SegmentsTable, newId } from "@reachbell/db";
import type { Kysely } from "kysely";
import type { Scope } from "../auth/principal";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { paginate } from "../pagination";
import { audienceWhere } from "./segment-filter";

// Saved segments (SPEC §8). Every query goes through `scoped()`: an API key sees its one project, an
// organization principal its organization's projects; anything else is "Segment not found". A
// `projectId` in the input has already been checked against the scope by authenticate.

function scoped(db: Kysely<DB>, scope: Scope) {
  const q = db.selectFrom("segments").selectAll("segments");
  if (scope.projectId !== undefined) return q.where("segments.projectId", "=", scope.projectId);
  return q.where((eb) => eb("segments.projectId", "in", eb.selectFrom("projects").select("projects.id").where("projects.organizationId", "=", scope.orgId)));
}

export function toSegment(row: SegmentsTable) {
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    filters: JSON.parse(row.filters) as SegmentFilters,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

async function findRow(deps: Deps, scope: Scope, segmentId: string) {
  const row = await scoped(deps.database.db, scope).where("segments.id", "=", segmentId).executeTakeFirst();
  if (!row) throw new DomainError("SEGMENT_NOT_FOUND");
  return row;
}

export async function create(deps: Deps, _scope: Scope, input: { projectId: string; name: string; filters: SegmentFilters }) {
  const now = deps.clock().toISOString();
  const row: SegmentsTable = { id: newId("seg"), projectId: input.projectId, name: input.name, filters: JSON.stringify(input.filters), createdAt: now, updatedAt: now };
  await deps.database.db.insertInto("segments").values(row).execute();
  return toSegment(row);
}

export async function list(deps: Deps, scope: Scope, input: { projectId?: string | undefined; limit?: number | undefined; cursor?: string | undefined }) {
  let q = scoped(deps.database.db, scope);
  if (input.projectId !== undefined) q = q.where("segments.projectId", "=", input.projectId);
  const { rows, nextCursor } = await paginate(q, "segments.id", input);
  return { data: rows.map(toSegment), nextCursor };
}

export async function get(deps: Deps, scope: Scope, segmentId: string) {
  return toSegment(await findRow(deps, scope, segmentId));
}

export async function update(deps: Deps, scope: Scope, input: { segmentId: string; name?: string | undefined; filters?: SegmentFilters | undefined }) {
  const row = await findRow(deps, scope, input.segmentId);
  const changes: Partial<SegmentsTable> = { updatedAt: deps.clock().toISOString() };
  if (input.name !== undefined) changes.name = input.name;
  if (input.filters !== undefined) changes.filters = JSON.stringify(input.filters);
  await deps.database.db.updateTable("segments").set(changes).where("id", "=", row.id).execute();
  return toSegment({ ...row, ...changes });
}

export async function remove(deps: Deps, scope: Scope, segmentId: string) {
  const row = await findRow(deps, scope, segmentId);
  await deps.database.db.deleteFrom("segments").where("id", "=", row.id).execute();
  return { id: row.id, deleted: true as const };
}

/** `{count, total}`: active subscribers of the project matching the filters (or the saved segment's), and all its active ones. */
export async function count(deps: Deps, scope: Scope, input: { projectId: string; filters?: SegmentFilters | undefined; savedSegmentId?: string | undefined }) {
  let filters = input.filters;
  if (filters === undefined) {
    const row = await scoped(deps.database.db, scope)
      .where("segments.id", "=", input.savedSegmentId ?? "")
      .where("segments.projectId", "=", input.projectId)
      .executeTakeFirst();
    if (!row) throw new DomainError("SEGMENT_NOT_FOUND");
    filters = toSegment(row).filters;
  }
  const db = deps.database.db;
  const now = deps.clock();
  // Two counts in one round trip; pg answers count(*) as a string (bigint), SQLite as a number.
  const row = await db
    .selectNoFrom((eb) => [
      eb.selectFrom("subscribers").select((e) => e.fn.countAll().as("n")).where(audienceWhere(input.projectId, filters, now)).as("count"),
      eb.selectFrom("subscribers").select((e) => e.fn.countAll().as("n")).where(audienceWhere(input.projectId, {}, now)).as("total"),
    ])
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), total: Number(row.total) };
}

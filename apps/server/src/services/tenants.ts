import { type DB, type OrganizationsTable, newId } from "@reachbell/db";
import { type Kysely, sql } from "kysely";
import type { Deps } from "../context";
import { isUniqueViolation } from "../db-errors";
import { DomainError } from "../errors";
import { toOrganization } from "../mappers";
import { paginate } from "../pagination";

// A tenant is an organization created by a partner (partnerId + externalId set, no members: its
// users act through tenant tokens). Every query here is filtered by the calling partner, so another
// partner's tenant reads as "not found".

function toTenant(row: OrganizationsTable) {
  return { ...toOrganization(row), partnerId: row.partnerId ?? "", externalId: row.externalId ?? "" };
}

/** The partner's tenant whose id or externalId is `ref` (an id match wins), or undefined. */
export async function findTenant(db: Kysely<DB>, partnerId: string, ref: string): Promise<OrganizationsTable | undefined> {
  const rows = await db
    .selectFrom("organizations")
    .selectAll()
    .where("partnerId", "=", partnerId)
    .where((eb) => eb.or([eb("id", "=", ref), eb("externalId", "=", ref)]))
    .execute();
  return rows.find((r) => r.id === ref) ?? rows[0];
}

async function requireTenant(db: Kysely<DB>, partnerId: string, ref: string): Promise<OrganizationsTable> {
  const row = await findTenant(db, partnerId, ref);
  if (!row) throw new DomainError("TENANT_NOT_FOUND");
  return row;
}

export async function create(deps: Deps, partnerId: string, input: { externalId: string; name: string }) {
  const now = deps.clock().toISOString();
  const row: OrganizationsTable = { id: newId("org"), name: input.name, plan: "FREE", partnerId, externalId: input.externalId, createdAt: now, updatedAt: now };
  try {
    await deps.database.db.insertInto("organizations").values(row).execute();
  } catch (e) {
    // The unique index on (partner_id, external_id) decides, also between concurrent creations.
    if (isUniqueViolation(e)) throw new DomainError("TENANT_EXISTS");
    throw e;
  }
  return toTenant(row);
}

/** `%`, `_` and `\` in a search term match themselves. */
const likePattern = (term: string) => `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function list(deps: Deps, partnerId: string, input: { limit?: number; cursor?: string; search?: string }) {
  let query = deps.database.db.selectFrom("organizations").selectAll().where("partnerId", "=", partnerId);
  if (input.search) {
    const pattern = likePattern(input.search);
    // lower() on both sides: LIKE is case-insensitive on SQLite only.
    query = query.where((eb) =>
      eb.or([
        sql<boolean>`lower(${eb.ref("name")}) like ${pattern} escape '\\'`,
        sql<boolean>`lower(${eb.ref("externalId")}) like ${pattern} escape '\\'`,
      ]),
    );
  }
  const { rows, nextCursor } = await paginate(query, "id", input);
  return { data: rows.map(toTenant), nextCursor };
}

export async function get(deps: Deps, partnerId: string, ref: string) {
  return toTenant(await requireTenant(deps.database.db, partnerId, ref));
}

export async function update(deps: Deps, partnerId: string, ref: string, input: { name?: string | undefined; externalId?: string | undefined }) {
  const db = deps.database.db;
  const row = await requireTenant(db, partnerId, ref);
  const changes: Partial<OrganizationsTable> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.externalId !== undefined) changes.externalId = input.externalId;
  if (Object.keys(changes).length === 0) return toTenant(row);
  changes.updatedAt = deps.clock().toISOString();
  try {
    await db.updateTable("organizations").set(changes).where("id", "=", row.id).where("partnerId", "=", partnerId).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw new DomainError("TENANT_EXISTS");
    throw e;
  }
  return toTenant({ ...row, ...changes });
}

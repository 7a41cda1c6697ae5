import type { Role } from "@reachbell/contract";
import { newId } from "@reachbell/db";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { toOrganization } from "../mappers";
import { paginate } from "../pagination";

export async function listMine(deps: Deps, userId: string, input: { limit?: number; cursor?: string }) {
  const query = deps.database.db
    .selectFrom("organizations")
    .innerJoin("memberships", "memberships.organizationId", "organizations.id")
    .selectAll("organizations")
    .select("memberships.role")
    .where("memberships.userId", "=", userId);
  const { rows, nextCursor } = await paginate(query, "organizations.id", input);
  return { data: rows.map((r) => ({ ...toOrganization(r), role: r.role as Role })), nextCursor };
}

export async function create(deps: Deps, userId: string, input: { name: string }) {
  const now = deps.clock().toISOString();
  const org = { id: newId("org"), name: input.name, plan: "FREE", partnerId: null, externalId: null, createdAt: now, updatedAt: now };
  await deps.database.db.transaction().execute(async (trx) => {
    await trx.insertInto("organizations").values(org).execute();
    await trx.insertInto("memberships").values({ id: newId("mem"), organizationId: org.id, userId, role: "OWNER", createdAt: now }).execute();
  });
  return { ...toOrganization(org), role: "OWNER" as const };
}

export async function get(deps: Deps, org: { id: string; role: Role }) {
  const row = await deps.database.db.selectFrom("organizations").selectAll().where("id", "=", org.id).executeTakeFirst();
  if (!row) throw new DomainError("ORGANIZATION_NOT_FOUND");
  return { ...toOrganization(row), role: org.role };
}

export async function rename(deps: Deps, org: { id: string; role: Role }, name: string) {
  await deps.database.db.updateTable("organizations").set({ name, updatedAt: deps.clock().toISOString() }).where("id", "=", org.id).execute();
  return get(deps, org);
}

/**
 * Deletes the organization; memberships, projects, their keys and subscribers go with it by cascade.
 * Its API keys are then forgotten on every instance at once (one invalidation for the organization,
 * as project deletion does for a project), so none keeps answering from a cache.
 */
export async function remove(deps: Deps, orgId: string) {
  await deps.database.db.deleteFrom("organizations").where("id", "=", orgId).execute();
  await deps.apiKeys.organizationDeleted(orgId);
  return { id: orgId, deleted: true as const };
}

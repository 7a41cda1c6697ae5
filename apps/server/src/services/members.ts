import type { Role } from "@reachbell/contract";
import { newId } from "@reachbell/db";
import type { Kysely, Transaction } from "kysely";
import type { DB } from "@reachbell/db";
import type { Deps } from "../context";
import { isUniqueViolation } from "../db-errors";
import { DomainError } from "../errors";
import { toMember } from "../mappers";
import { paginate } from "../pagination";

const withUser = (db: Kysely<DB>) =>
  db
    .selectFrom("memberships")
    .innerJoin("users", "users.id", "memberships.userId")
    .selectAll("memberships")
    .select(["users.email", "users.name"]);

export async function list(deps: Deps, orgId: string, input: { limit?: number; cursor?: string }) {
  const { rows, nextCursor } = await paginate(withUser(deps.database.db).where("memberships.organizationId", "=", orgId), "memberships.id", input);
  return { data: rows.map(toMember), nextCursor };
}

async function getMember(db: Kysely<DB>, orgId: string, memberId: string) {
  const row = await withUser(db).where("memberships.organizationId", "=", orgId).where("memberships.id", "=", memberId).executeTakeFirst();
  if (!row) throw new DomainError("MEMBER_NOT_FOUND");
  return row;
}

export async function add(deps: Deps, orgId: string, input: { email: string; role: Role }) {
  const db = deps.database.db;
  const user = await db.selectFrom("users").select("id").where("email", "=", input.email).executeTakeFirst();
  if (!user) throw new DomainError("USER_NOT_FOUND");
  const id = newId("mem");
  try {
    await db.insertInto("memberships").values({ id, organizationId: orgId, userId: user.id, role: input.role, createdAt: deps.clock().toISOString() }).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw new DomainError("ALREADY_MEMBER");
    throw e;
  }
  return toMember(await getMember(db, orgId, id));
}

/**
 * Changes run in a transaction that re-counts OWNERs after the write, so two concurrent demotions
 * cannot both pass and leave the organization without an OWNER (on PostgreSQL the owner rows are
 * locked; SQLite serializes writers).
 */
async function guardOwners(trx: Transaction<DB>, deps: Deps, orgId: string) {
  let q = trx.selectFrom("memberships").select("id").where("organizationId", "=", orgId).where("role", "=", "OWNER");
  if (deps.database.dialect === "postgres") q = q.forUpdate();
  return q;
}

export async function changeRole(deps: Deps, orgId: string, memberId: string, role: Role) {
  const db = deps.database.db;
  await db.transaction().execute(async (trx) => {
    const member = await getMember(trx, orgId, memberId);
    if (member.role === "OWNER" && role !== "OWNER") {
      const owners = await (await guardOwners(trx, deps, orgId)).execute();
      if (owners.length <= 1) throw new DomainError("LAST_OWNER");
    }
    await trx.updateTable("memberships").set({ role }).where("id", "=", memberId).execute();
  });
  return toMember(await getMember(db, orgId, memberId));
}

export async function remove(deps: Deps, orgId: string, memberId: string) {
  await deps.database.db.transaction().execute(async (trx) => {
    const member = await getMember(trx, orgId, memberId);
    if (member.role === "OWNER") {
      const owners = await (await guardOwners(trx, deps, orgId)).execute();
      if (owners.length <= 1) throw new DomainError("LAST_OWNER");
    }
    await trx.deleteFrom("memberships").where("id", "=", memberId).execute();
  });
  return { id: memberId, deleted: true as const };
}

import type { Role } from "@reachbell/contract";
import { newId } from "@reachbell/db";
import { issueUserToken } from "../auth/user-tokens";
import type { Deps } from "../context";
import { isUniqueViolation } from "../db-errors";
import { DomainError } from "../errors";

export async function userProfile(deps: Deps, userId: string) {
  const db = deps.database.db;
  const user = await db.selectFrom("users").select(["id", "email", "name"]).where("id", "=", userId).executeTakeFirst();
  if (!user) throw new DomainError("INVALID_TOKEN");
  const organizations = await db
    .selectFrom("memberships")
    .innerJoin("organizations", "organizations.id", "memberships.organizationId")
    .select(["organizations.id", "organizations.name", "memberships.role"])
    .where("memberships.userId", "=", userId)
    .orderBy("organizations.id")
    .execute();
  return { ...user, organizations: organizations.map((o) => ({ id: o.id, name: o.name, role: o.role as Role })) };
}

export async function loginResponse(deps: Deps, userId: string) {
  return { access_token: await issueUserToken(deps, userId), user: await userProfile(deps, userId) };
}

export async function register(deps: Deps, input: { email: string; password: string; name: string; organizationName: string }) {
  const db = deps.database.db;
  const existing = await db.selectFrom("users").select("id").where("email", "=", input.email).executeTakeFirst();
  if (existing) throw new DomainError("EMAIL_TAKEN");
  const passwordHash = await deps.hasher.hash(input.password);
  const now = deps.clock().toISOString();
  const userId = newId("usr");
  const orgId = newId("org");
  try {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto("users").values({ id: userId, email: input.email, name: input.name, passwordHash, createdAt: now, updatedAt: now }).execute();
      await trx
        .insertInto("organizations")
        .values({ id: orgId, name: input.organizationName, plan: "FREE", partnerId: null, externalId: null, createdAt: now, updatedAt: now })
        .execute();
      await trx.insertInto("memberships").values({ id: newId("mem"), organizationId: orgId, userId, role: "OWNER", createdAt: now }).execute();
    });
  } catch (e) {
    // Two registrations racing for one email: the unique index decides.
    if (isUniqueViolation(e)) throw new DomainError("EMAIL_TAKEN");
    throw e;
  }
  return loginResponse(deps, userId);
}

/** Unknown email and wrong password answer the same 401 after the same argon2 work. */
export async function login(deps: Deps, input: { email: string; password: string }) {
  const email = input.email.trim().toLowerCase();
  const user = await deps.database.db.selectFrom("users").select(["id", "passwordHash"]).where("email", "=", email).executeTakeFirst();
  const ok = user ? await deps.hasher.verify(user.passwordHash, input.password) : await deps.hasher.verifyAgainstDummy(input.password);
  if (!user || !ok) throw new DomainError("INVALID_CREDENTIALS");
  return loginResponse(deps, user.id);
}

import { type AuthRule, type PrincipalKind, type Role, isPublic, roleRank } from "@reachbell/contract";
import { InvalidTokenError } from "@reachbell/auth";
import type { Context } from "../context";
import { DomainError } from "../errors";
import type { AuthState } from "./principal";
import { verifyUserToken } from "./user-tokens";

function header(ctx: Context, name: string): string | undefined {
  const v = ctx.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() !== "" ? s.trim() : undefined;
}

function bearerToken(ctx: Context): string | undefined {
  const h = header(ctx, "authorization");
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw new DomainError("INVALID_TOKEN");
  return m[1];
}

async function rawInputField(getRawInput: () => Promise<unknown>, field: string): Promise<unknown> {
  const raw = await getRawInput();
  return raw && typeof raw === "object" ? (raw as Record<string, unknown>)[field] : undefined;
}

/**
 * Establishes the principal for one call according to the procedure's access rule.
 * Order: credential validity (401) → whether this route takes that credential (403) → the
 * organization or project the call names (403/404) → role (403).
 */
export async function authenticate(rule: AuthRule, ctx: Context, getRawInput: () => Promise<unknown>): Promise<AuthState> {
  if (isPublic(rule)) return { principal: { kind: "anonymous" } };
  const accepts = (k: PrincipalKind) => rule.accepts.includes(k);

  const token = bearerToken(ctx);
  if (!token) throw new DomainError("NOT_AUTHENTICATED");

  let userId: string;
  try {
    userId = await verifyUserToken(ctx.deps, token);
  } catch (e) {
    if (e instanceof InvalidTokenError) throw new DomainError("INVALID_TOKEN");
    throw e;
  }
  const db = ctx.deps.database.db;
  const user = await db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst();
  if (!user) throw new DomainError("INVALID_TOKEN");

  if (accepts("user")) return { principal: { kind: "user", userId } };
  if (!accepts("member")) throw new DomainError("FORBIDDEN");

  let orgId: unknown;
  if (rule.orgFrom === "input") {
    orgId = await rawInputField(getRawInput, "orgId");
    if (typeof orgId !== "string") {
      throw new DomainError("VALIDATION", { extra: { errors: [{ path: "orgId", message: "Required" }] } });
    }
  } else {
    orgId = header(ctx, "x-org-id");
    if (!orgId) throw new DomainError("MISSING_ORG_HEADER");
  }
  const membership = await db
    .selectFrom("memberships")
    .select("role")
    .where("organizationId", "=", orgId as string)
    .where("userId", "=", userId)
    .executeTakeFirst();
  // Not a member and no such organization answer the same: never a hint that it exists.
  if (!membership) throw new DomainError("ORGANIZATION_NOT_FOUND");
  const role = membership.role as Role;
  requireRole(role, rule.role);
  return { principal: { kind: "member", userId, orgId: orgId as string, role }, org: { id: orgId as string, role } };
}

function requireRole(role: Role, min: Role | undefined): void {
  if (min && roleRank(role) < roleRank(min)) throw new DomainError("INSUFFICIENT_ROLE");
}

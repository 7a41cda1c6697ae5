import { InvalidTokenError, peekClaims } from "@reachbell/auth";
import { type AuthRule, type ProtectedRule, type Role, UNSTORABLE_TEXT_MESSAGE, isPublic, isStorableText, roleRank, wrongCredentialMessage } from "@reachbell/contract";
import type { Context } from "../context";
import { DomainError } from "../errors";
import { verifyPartnerToken } from "./partner-tokens";
import type { ApiKeyIdentity } from "./api-key-verifier";
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
  // An API key where a JWT goes: say where it belongs instead of "Invalid or expired token".
  if (/^rb_(live|test)_/.test(m[1]!)) throw new DomainError("API_KEY_IN_BEARER");
  return m[1];
}

/** 403 for a valid credential this route does not take, naming the ones it does. */
function wrongCredential(rule: ProtectedRule): never {
  throw new DomainError("FORBIDDEN", { message: wrongCredentialMessage(rule) });
}

type RawInput = () => Promise<unknown>;

/** A field of the not-yet-validated input that the guard reads before the contract's schema runs. */
async function rawInputField(getRawInput: RawInput, field: string): Promise<unknown> {
  const raw = await getRawInput();
  return raw && typeof raw === "object" ? (raw as Record<string, unknown>)[field] : undefined;
}

/** Before `value` (read ahead of the schema) goes into a query: the contract's text rule, 422 naming it. */
function storableForQuery(value: string, field: string): string {
  if (!isStorableText(value)) throw new DomainError("VALIDATION", { extra: { errors: [{ path: field, message: UNSTORABLE_TEXT_MESSAGE }] } });
  return value;
}

/**
 * Establishes the principal for one call according to the procedure's access rule.
 * Order: credential validity (401) → whether this route takes that credential (403) → the
 * organization, tenant or project the call names (403/404) → role (403).
 * `freshApiKey` looks an API key up in the database even when it is cached (see vanished-scope.ts).
 */
export async function authenticate(rule: AuthRule, ctx: Context, getRawInput: RawInput, opts: { freshApiKey?: boolean } = {}): Promise<AuthState> {
  if (isPublic(rule)) return { principal: { kind: "anonymous" } };

  const apiKey = header(ctx, "x-api-key");
  const token = bearerToken(ctx);
  // An API key is used when the route takes one, or when it is the only credential presented.
  if (apiKey !== undefined && (rule.accepts.includes("apiKey") || token === undefined)) {
    const identity = await ctx.deps.apiKeys.verify(apiKey, { request: ctx.headers, ...(opts.freshApiKey === true ? { fresh: true, recordUse: false } : {}) });
    if (!identity) throw new DomainError("INVALID_API_KEY");
    // A publishable key hears about its scope on every route it may not call, whatever else the route takes.
    if (identity.scope === "publishable") await checkPublishable(rule, identity, ctx, getRawInput);
    if (!rule.accepts.includes("apiKey")) wrongCredential(rule);
    return checkProject(apiKeyState(identity), ctx, getRawInput);
  }
  if (!token) throw new DomainError("NOT_AUTHENTICATED");

  const partnerId = peekClaims(token)?.partnerId;
  // Read before the signature is checked and used in a query: text no column can hold is no token of ours.
  if (typeof partnerId === "string" && !isStorableText(partnerId)) throw new DomainError("INVALID_TOKEN");
  const state = typeof partnerId === "string" ? await authenticatePartnerToken(rule, ctx, token, partnerId) : await authenticateUserToken(rule, ctx, token, getRawInput);
  if (state.org && state.principal.kind !== "user") requireRole(state.org.role, rule.role);
  return checkProject(state, ctx, getRawInput);
}

function apiKeyState(identity: ApiKeyIdentity): AuthState {
  return {
    principal: { kind: "apiKey", keyId: identity.keyId, projectId: identity.projectId, orgId: identity.orgId, environment: identity.environment, scope: identity.scope },
    // An API key acts with MEMBER rights inside its one project (subscribers, sending).
    org: { id: identity.orgId, role: "MEMBER" },
    project: { id: identity.projectId, environment: identity.environment },
  };
}

/**
 * A publishable key (a page's): only procedures whose rule says `publishable`, without the input
 * fields the rule refuses, and from the project's allowed origins. A request without Origin is let
 * through: browsers always send it on the cross-origin calls a page makes (and on every POST), so
 * its absence means a client that is no page, which could send any Origin it liked anyway; the
 * scope, not the Origin, is what limits such a client.
 */
async function checkPublishable(rule: ProtectedRule, identity: ApiKeyIdentity, ctx: Context, getRawInput: RawInput): Promise<void> {
  if (!rule.publishable) throw new DomainError("PUBLISHABLE_KEY");
  for (const field of rule.publishable.refuse ?? []) {
    if ((await rawInputField(getRawInput, field)) !== undefined) {
      throw new DomainError("PUBLISHABLE_KEY_FIELD", { message: `This API key is publishable: address the subscriber by its token, not by ${field}` });
    }
  }
  const origin = header(ctx, "origin");
  if (origin !== undefined && !identity.allowedOrigins.includes(origin)) {
    // The header is echoed: keep it printable and short (it is the caller's own value).
    const shown = /^[\x20-\x7e]{1,300}$/.test(origin) ? origin : JSON.stringify(origin.slice(0, 300));
    throw new DomainError("ORIGIN_NOT_ALLOWED", { message: `Origin ${shown} is not allowed for this project` });
  }
}

async function authenticateUserToken(rule: ProtectedRule, ctx: Context, token: string, getRawInput: RawInput): Promise<AuthState> {
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

  if (rule.accepts.includes("user")) return { principal: { kind: "user", userId } };
  if (!rule.accepts.includes("member")) wrongCredential(rule);

  let orgId: unknown;
  if (rule.orgFrom === "input") {
    orgId = await rawInputField(getRawInput, "orgId");
    if (typeof orgId !== "string") throw new DomainError("VALIDATION", { extra: { errors: [{ path: "orgId", message: "Required" }] } });
    storableForQuery(orgId, "orgId");
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
  return { principal: { kind: "member", userId, orgId: orgId as string, role }, org: { id: orgId as string, role } };
}

async function authenticatePartnerToken(rule: ProtectedRule, ctx: Context, token: string, partnerId: string): Promise<AuthState> {
  let claims;
  try {
    claims = await verifyPartnerToken(ctx.deps, token, partnerId);
  } catch (e) {
    if (e instanceof InvalidTokenError) throw new DomainError("INVALID_TOKEN");
    throw e;
  }
  const db = ctx.deps.database.db;
  if (claims.type === "partner") {
    if (rule.accepts.includes("partner")) return { principal: { kind: "partner", partnerId } };
    if (!rule.accepts.includes("partnerTenant")) wrongCredential(rule);
    const tenantRef = header(ctx, "reach-tenant-id");
    if (!tenantRef) throw new DomainError("MISSING_TENANT_HEADER");
    // Percent-decoded (http/tenant-header.ts), so it may hold a NUL: it names no tenant.
    if (!isStorableText(tenantRef)) throw new DomainError("TENANT_NOT_FOUND");
    const org = await db
      .selectFrom("organizations")
      .select("id")
      .where("partnerId", "=", partnerId)
      .where((eb) => eb.or([eb("id", "=", tenantRef), eb("externalId", "=", tenantRef)]))
      .executeTakeFirst();
    if (!org) throw new DomainError("TENANT_NOT_FOUND");
    // A partner administers its tenants fully.
    return { principal: { kind: "partnerTenant", partnerId, orgId: org.id, role: "OWNER" }, org: { id: org.id, role: "OWNER" } };
  }
  if (!rule.accepts.includes("tenant")) wrongCredential(rule);
  const org = await db
    .selectFrom("organizations")
    .select("id")
    .where("partnerId", "=", partnerId)
    .where("externalId", "=", claims.tenantExternalId)
    .executeTakeFirst();
  if (!org) throw new DomainError("TENANT_NOT_FOUND");
  return {
    principal: { kind: "tenant", partnerId, orgId: org.id, role: claims.role, externalUserId: claims.externalId, email: claims.email, name: claims.name },
    org: { id: org.id, role: claims.role },
  };
}

/**
 * A `projectId` named in the path or body must be in scope: an API key may only name its own
 * project (403 whether or not the other exists, as the docs promise); an organization principal
 * only its organization's projects (404 otherwise, never a hint).
 */
async function checkProject(state: AuthState, ctx: Context, getRawInput: RawInput): Promise<AuthState> {
  const projectId = await rawInputField(getRawInput, "projectId");
  if (typeof projectId !== "string") return state;
  if (state.project) {
    if (projectId !== state.project.id) throw new DomainError("WRONG_PROJECT");
    return state;
  }
  if (state.org) {
    storableForQuery(projectId, "projectId");
    const found = await ctx.deps.database.db
      .selectFrom("projects")
      .select("id")
      .where("id", "=", projectId)
      .where("organizationId", "=", state.org.id)
      .executeTakeFirst();
    if (!found) throw new DomainError("PROJECT_NOT_FOUND");
  }
  return state;
}

function requireRole(role: Role, min: Role | undefined): void {
  if (min && roleRank(role) < roleRank(min)) throw new DomainError("INSUFFICIENT_ROLE");
}

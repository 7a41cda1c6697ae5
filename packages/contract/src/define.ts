import type { z } from "zod";

/** Organization roles, weakest first. VIEWER reads; MEMBER manages subscribers and sends;
 *  ADMIN also manages projects and API keys; OWNER also manages members and the organization. */
export const ROLES = ["VIEWER", "MEMBER", "ADMIN", "OWNER"] as const;
export type Role = (typeof ROLES)[number];
export const roleRank = (role: Role): number => ROLES.indexOf(role);

/**
 * Who may call a procedure. Each kind is a distinct way to authenticate:
 * - `user`: dashboard JWT, no organization context (e.g. `GET /auth/me`).
 * - `member`: dashboard JWT acting in an organization (from `x-org-id`, or the `orgId` input when
 *   `orgFrom: "input"`), as a member with at least `role`.
 * - `apiKey`: `x-api-key`, scoped to one project.
 * - `partner`: partner-scoped JWT on `/partner/*`.
 * - `tenant`: tenant-scoped JWT acting on its tenant's organization.
 * - `partnerTenant`: partner-scoped JWT plus `reach-tenant-id` acting on that tenant.
 */
export const PRINCIPAL_KINDS = ["user", "member", "apiKey", "partner", "tenant", "partnerTenant"] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/** The principals that act inside one organization (the "org principal" of the spec). */
export const ORG_PRINCIPALS = ["member", "tenant", "partnerTenant"] as const satisfies readonly PrincipalKind[];

export interface PublicRule {
  readonly public: true;
}
export interface ProtectedRule {
      readonly public?: false;
      readonly accepts: readonly PrincipalKind[];
      /** Minimum organization role for org principals. Required when any org principal is accepted. */
      readonly role?: Role;
      /** Where the organization id comes from for `member`: the `x-org-id` header (default) or the `orgId` input. */
      readonly orgFrom?: "header" | "input";
      /**
       * Set when a publishable (browser-safe) API key may call this too; without it such a key gets 403.
       * `refuse` names input fields a publishable key may not give: it addresses only the subscription
       * it holds (by token), never a user's subscribers (by externalId).
       */
      readonly publishable?: { readonly refuse?: readonly string[] };
}
export type AuthRule = PublicRule | ProtectedRule;

export const RATE_LIMIT_GROUPS = ["default", "ingest", "auth"] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];

/** The rate-limit group a REST path belongs to unless its procedure says otherwise (SPEC §6): ingest for
 *  `/subscribers*` and `/transactional/*`, default for the rest. The auth group is always declared. */
export function rateLimitGroupForPath(path: string): RateLimitGroup {
  return path === "/subscribers" || path.startsWith("/subscribers/") || path.startsWith("/transactional/") ? "ingest" : "default";
}

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface ProcedureMeta {
  readonly operationId: string;
  /** One line: the operation's title in the OpenAPI document and the playground. */
  readonly summary: string;
  /** Longer explanation (Markdown) for the OpenAPI description; the auth, role and rate-limit lines are added from this meta. */
  readonly description?: string;
  readonly tags: readonly string[];
  readonly rest: { readonly method: HttpMethod; readonly path: `/${string}` };
  readonly auth: AuthRule;
  readonly rateLimit: RateLimitGroup;
  /** HTTP status of success on REST (201 for creations). */
  readonly successStatus: 200 | 201;
  /** Headers the procedure reads besides authentication (documented in OpenAPI). */
  readonly headers?: readonly { name: string; description: string; required: boolean }[];
  /** Input fields of which exactly one must be given (the input's refine enforces it; OpenAPI says it as a `oneOf`). */
  readonly exactlyOneOf?: readonly string[];
  /**
   * Set for a file download (e.g. `text/csv`): the success body is streamed in this media type by a
   * plain Express handler behind the same guard, not by tRPC (tRPC would buffer it whole). The entry's
   * kind is then `download`; `output` describes the body for the OpenAPI document.
   */
  readonly produces?: string;
}

export interface ProcedureDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** `download`: REST only, served by an Express handler (see `produces`). */
  readonly kind: "query" | "mutation" | "download";
  readonly input: I;
  readonly output: O;
  readonly meta: ProcedureMeta;
}

type DefineArgs<I extends z.ZodType, O extends z.ZodType> = Omit<ProcedureMeta, "successStatus" | "rateLimit"> & {
  input: I;
  output: O;
  successStatus?: 200 | 201;
  rateLimit?: RateLimitGroup;
};

function checkAuthRule(operationId: string, auth: AuthRule): void {
  if (isPublic(auth)) return;
  if (auth.accepts.length === 0) throw new Error(`${operationId}: auth.accepts is empty`);
  if (auth.accepts.some((k) => (ORG_PRINCIPALS as readonly string[]).includes(k)) && !auth.role) {
    throw new Error(`${operationId}: org principals need a minimum role`);
  }
  if (auth.publishable && !auth.accepts.includes("apiKey")) throw new Error(`${operationId}: publishable keys are API keys: accept apiKey`);
}

/** API key scopes: `full` for servers, `publishable` for pages (only the procedures whose rule says `publishable`). */
export const API_KEY_SCOPES = ["full", "publishable"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** True when a publishable API key may call a procedure with this rule. */
export const publishableMay = (auth: AuthRule): boolean => !isPublic(auth) && auth.publishable !== undefined;

/** Declares one procedure. `auth` is mandatory here so no procedure can exist without an access rule. */
export function defineProcedure<I extends z.ZodType, O extends z.ZodType>(args: DefineArgs<I, O>): ProcedureDef<I, O> {
  const { input, output, successStatus = 200, rateLimit = rateLimitGroupForPath(args.rest.path), ...meta } = args;
  checkAuthRule(meta.operationId, meta.auth);
  if (meta.produces !== undefined && meta.rest.method !== "GET") throw new Error(`${meta.operationId}: a download is a GET`);
  return {
    kind: meta.produces !== undefined ? "download" : meta.rest.method === "GET" ? "query" : "mutation",
    input,
    output,
    meta: { ...meta, successStatus, rateLimit },
  };
}

/** The meta of a tRPC subscription: no REST route (SSE on /trpc only), the same mandatory access rule. */
export type SubscriptionMeta = Pick<ProcedureMeta, "operationId" | "summary" | "description" | "tags" | "auth">;

/** A tRPC subscription (server-sent events): each item it yields is an `output`. */
export interface SubscriptionDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly kind: "subscription";
  readonly input: I;
  readonly output: O;
  readonly meta: SubscriptionMeta;
}

/** Declares one subscription, with the same auth checks as `defineProcedure`. */
export function defineSubscription<I extends z.ZodType, O extends z.ZodType>(args: SubscriptionMeta & { input: I; output: O }): SubscriptionDef<I, O> {
  const { input, output, ...meta } = args;
  checkAuthRule(meta.operationId, meta.auth);
  return { kind: "subscription", input, output, meta };
}

export const isPublic = (auth: AuthRule): auth is PublicRule => auth.public === true;

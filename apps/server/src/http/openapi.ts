import { type AuthRule, type PrincipalKind, type ProcedureDef, contractEntries, isPublic } from "@reachbell/contract";
import { generateOpenApiDocument } from "trpc-to-openapi";
import { appRouter } from "../routers";
import { API_PREFIX } from "./api-prefix";

/** The security schemes of the API; which ones an operation lists comes from its contract entry. */
export const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Dashboard JWT from POST /auth/login" },
  apiKeyAuth: { type: "apiKey", in: "header", name: "x-api-key", description: "Project API key: rb_live_… or rb_test_…" },
  partnerJwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "Partner-scoped JWT, HS256 with the partner's secret; claims partnerId, type: \"partner\", iat, exp. On organization-scoped routes it needs the reach-tenant-id header (the tenant's id or externalId).",
  },
  tenantJwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "Tenant-scoped JWT, HS256 with the partner's secret; claims partnerId, tenantExternalId, externalId, email, name, iat, exp, optional role (default ADMIN). Acts on that tenant; safe to hand to a browser.",
  },
} as const;

const SCHEME_OF: Record<PrincipalKind, keyof typeof SECURITY_SCHEMES> = {
  user: "bearerAuth",
  member: "bearerAuth",
  apiKey: "apiKeyAuth",
  partner: "partnerJwt",
  tenant: "tenantJwt",
  partnerTenant: "partnerJwt",
};

export function securityFor(rule: AuthRule): Record<string, string[]>[] {
  if (isPublic(rule)) return [];
  const names = [...new Set(rule.accepts.map((k) => SCHEME_OF[k]))];
  return names.map((n) => ({ [n]: [] }));
}

const ERROR_STATUSES: Record<string, string> = {
  "400": "Malformed request",
  "401": "Not authenticated",
  "403": "Not allowed",
  "404": "Not found",
  "409": "Conflict",
  "413": "Body too large",
  "415": "Body is not JSON",
  "422": "Invalid fields",
  "429": "Rate limited",
  "500": "Internal fault",
  "503": "Database unavailable: retry after Retry-After seconds",
};

const ERROR_ENVELOPE = {
  type: "object",
  required: ["statusCode", "message", "requestId"],
  properties: {
    statusCode: { type: "integer", description: "Equals the HTTP status" },
    message: { type: "string" },
    requestId: { type: "string", description: "req_…, equals the x-request-id response header" },
    errors: {
      type: "array",
      description: "On 422: one entry per failing field",
      items: { type: "object", required: ["path", "message"], properties: { path: { type: "string" }, message: { type: "string" } } },
    },
  },
};

/** Response headers every operation answers with (rate limits: SPEC §6; request id: SPEC §5). */
const RESPONSE_HEADERS = {
  "X-Request-Id": { description: "req_…, equals requestId in an error body", schema: { type: "string" } },
  "RateLimit-Limit": { description: "Requests allowed per minute in this operation's rate-limit group", schema: { type: "integer" } },
  "RateLimit-Remaining": { description: "Requests left in the current window", schema: { type: "integer" } },
  "RateLimit-Reset": { description: "Seconds until the window ends", schema: { type: "integer" } },
  "Retry-After": { description: "On 429: seconds to wait before retrying", schema: { type: "integer" } },
};
const headerRefs = (names: (keyof typeof RESPONSE_HEADERS)[]) => Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]));
const COMMON_HEADERS = headerRefs(["X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]);

function errorStatusesFor(def: ProcedureDef, method: string): string[] {
  // 400 on every operation: a malformed path (dot segments, bad percent-encoding) or cursor; 503 while
  // the database is unreachable.
  const s = ["400", "422", "429", "500", "503"];
  if (method !== "get" && method !== "delete") s.push("413", "415");
  if (!isPublic(def.meta.auth)) s.push("401", "403");
  if (def.meta.rest.path.includes("{") || !isPublic(def.meta.auth)) s.push("404");
  if (def.meta.successStatus === 201 || def.meta.operationId === "members.update" || def.meta.operationId === "members.remove" || def.meta.operationId === "partnerTenants.update") s.push("409");
  return [...new Set(s)].sort();
}

/**
 * The generated document, post-processed: each operation lists exactly the security schemes its
 * contract accepts, creations answer 201, every error is the product's envelope, and org-scoped
 * operations document the headers they read.
 */
export function buildOpenApiDocument(baseUrl = "/"): Record<string, any> {
  const doc = generateOpenApiDocument(appRouter, {
    title: "ReachBell API",
    description: "Self-hostable push-notification platform API. Every error is `{statusCode, message, requestId}`.",
    version: "0.1.0",
    baseUrl,
    openApiVersion: "3.1.0",
    securitySchemes: SECURITY_SCHEMES as any,
  }) as Record<string, any>;
  const byOperationId = new Map(contractEntries().map(([, def]) => [def.meta.operationId, def]));
  // Every operation is served at both base paths (the partner documentation puts tenant routes under /api).
  doc.servers = [
    { url: baseUrl, description: "ReachBell API" },
    { url: `${baseUrl.replace(/\/$/, "")}${API_PREFIX}`, description: "The same operations under the /api prefix" },
  ];
  doc.components ??= {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), ErrorEnvelope: ERROR_ENVELOPE };
  doc.components.headers = { ...(doc.components.headers ?? {}), ...RESPONSE_HEADERS };
  for (const methods of Object.values<Record<string, any>>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const def = byOperationId.get(op.operationId);
      if (!def) throw new Error(`operation ${op.operationId} has no contract entry`);
      const security = securityFor(def.meta.auth);
      if (security.length > 0) op.security = security;
      else op.security = [];
      const responses: Record<string, any> = {};
      const success = op.responses?.["200"];
      responses[String(def.meta.successStatus)] = { ...success, description: def.meta.successStatus === 201 ? "Created" : "OK", headers: COMMON_HEADERS };
      for (const status of errorStatusesFor(def, method)) {
        responses[status] = {
          description: ERROR_STATUSES[status],
          headers: status === "429" || status === "503" ? { ...COMMON_HEADERS, ...headerRefs(["Retry-After"]) } : COMMON_HEADERS,
          content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } },
        };
      }
      op.responses = responses;
      const rule = def.meta.auth;
      if (!isPublic(rule) && rule.accepts.includes("member") && rule.orgFrom !== "input") {
        op.parameters = [
          ...(op.parameters ?? []),
          { in: "header", name: "x-org-id", required: rule.accepts.length === 1, description: "Organization to act in (dashboard JWT)", schema: { type: "string" } },
        ];
      }
      if (!isPublic(rule) && rule.accepts.includes("partnerTenant")) {
        op.parameters = [
          ...(op.parameters ?? []),
          {
            in: "header",
            name: "reach-tenant-id",
            required: false,
            description: "With a partner JWT (required then): the tenant to act on, by its id or externalId",
            schema: { type: "string" },
          },
        ];
      }
      for (const h of def.meta.headers ?? []) {
        op.parameters = [...(op.parameters ?? []), { in: "header", name: h.name, required: h.required, description: h.description, schema: { type: "string" } }];
      }
    }
  }
  return doc;
}

import { type AuthRule, type PrincipalKind, type ProcedureDef, type ProtectedRule, contractEntries, isPublic } from "@reachbell/contract";
import { generateOpenApiDocument } from "trpc-to-openapi";
import { z } from "zod";
import { appRouter } from "../routers";
import { API_PREFIX } from "./api-prefix";
import { applyExamples } from "./openapi-examples";

/** The security schemes of the API; which ones an operation lists comes from its contract entry. */
export const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Dashboard JWT from POST /auth/login" },
  apiKeyAuth: { type: "apiKey", in: "header", name: "x-api-key", description: "Project API key: rb_live_… or rb_test_…, of scope full (server side) or publishable (safe in a page)" },
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
  "Content-Disposition": { description: "On a download: `attachment; filename=\"<id>.csv\"`", schema: { type: "string" } },
};
const headerRefs = (names: (keyof typeof RESPONSE_HEADERS)[]) => Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]));
const COMMON_HEADERS = headerRefs(["X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]);

/** The document's tags, in the order the playground shows them; every contract tag must be here. */
const TAGS: { name: string; description: string }[] = [
  { name: "auth", description: "Dashboard accounts: register, log in (a dashboard JWT), the signed-in user" },
  { name: "organizations", description: "Organizations and the caller's memberships" },
  { name: "members", description: "Members of an organization and their roles (VIEWER < MEMBER < ADMIN < OWNER)" },
  { name: "projects", description: "Projects (one website or app each): VAPID key pair, environment (live or sandbox), delivery policy" },
  { name: "api-keys", description: "Project API keys (rb_live_… / rb_test_…) for your backend and the browser SDK" },
  { name: "subscribers", description: "Web-push subscriptions of a project: register, identify, tag, read, unsubscribe" },
  { name: "segments", description: "Saved segments (filters over a project's active subscribers) and live reach counts" },
  { name: "campaigns", description: "Campaigns: one push to a segment, sent now, scheduled or kept as a draft; lifecycle, stats, per-recipient results and CSV export" },
  { name: "transactional", description: "Send one push to a subscriber (by token) or to a user (by externalId)" },
  { name: "messages", description: "Messages sent and their delivery outcome" },
  { name: "partner", description: "Partner platforms: tenants (organizations owned by the partner), called with a partner JWT" },
];

/**
 * No licence is declared anywhere in the repository (no LICENSE file, no `license` in package.json, nothing
 * in the README): the document says so instead of naming one. Replace it when the project picks a licence.
 */
const LICENSE = { name: "UNLICENSED: no licence declared yet (all rights reserved)", identifier: "LicenseRef-UNLICENSED" };
/** ReachBell is self-hosted: whoever runs the instance answers for it. */
const CONTACT = { name: "The operator of this ReachBell instance" };

/** Error responses whose body carries a field besides the envelope, holding the operation's output schema. */
const ERROR_EXTRAS: Record<string, Record<string, { field: string; component: string; description: string }>> = {
  "subscribers.register": {
    "409": { field: "subscriber", component: "Subscriber", description: "Endpoint already registered: the envelope plus the existing subscriber" },
  },
};

const roleText = (rule: ProtectedRule) => (rule.role ? ` (role ${rule.role} or above)` : "");

/** How an operation authenticates, in words, from its contract rule (the description's "Authentication" line). */
function authText(rule: AuthRule): string {
  if (isPublic(rule)) return "none (public).";
  const ways = rule.accepts.map((k) => {
    switch (k) {
      case "user":
        return "a dashboard JWT (`Authorization: Bearer`)";
      case "member":
        return rule.orgFrom === "input"
          ? `a dashboard JWT of a member of the organization \`orgId\`${roleText(rule)}`
          : `a dashboard JWT + \`x-org-id\`${roleText(rule)}`;
      case "apiKey":
        return rule.publishable
          ? `a project API key (\`x-api-key\`), publishable keys included (from the project's \`allowedOrigins\`${rule.publishable.refuse?.length ? `; not with ${rule.publishable.refuse.map((f) => `\`${f}\``).join(", ")}` : ""})`
          : "a project API key (`x-api-key`) of scope `full` (a publishable key gets 403)";
      case "partner":
        return "a partner JWT";
      case "tenant":
        return `a tenant JWT${roleText(rule)}`;
      case "partnerTenant":
        return `a partner JWT + \`reach-tenant-id\`${roleText(rule)}`;
    }
  });
  return `${ways.join("; or ")}.`;
}

/** The x-org-id parameter of an operation whose `member` principal reads it: required only when nothing else is accepted. */
function orgIdParameter(rule: ProtectedRule): Record<string, unknown> {
  const others = rule.accepts.filter((k) => k !== "member");
  const OTHER_TEXT: Record<PrincipalKind, string> = {
    member: "",
    apiKey: "an API key (x-api-key)",
    tenant: "a tenant JWT",
    partnerTenant: "a partner JWT + reach-tenant-id",
    user: "a dashboard JWT for the user alone",
    partner: "a partner JWT",
  };
  const description =
    others.length === 0
      ? "The organization to act in (its id). Required: this operation takes a dashboard JWT (Authorization: Bearer) only, and answers 403 without it."
      : `Required with a dashboard JWT (Authorization: Bearer): the organization to act in (its id); without it 403. Not used with ${others.map((k) => OTHER_TEXT[k]).join(" or ")}.`;
  return { in: "header", name: "x-org-id", required: others.length === 0, description, schema: { type: "string" } };
}

/**
 * The request body schema with "exactly one of these fields" said as a `oneOf` of complete shapes, one per
 * field, each without the others: a body with none matches no branch and one with two matches two, so both
 * are refused, as the input's refine refuses them. Generated clients get a union of the two shapes.
 */
function exactlyOneOf(schema: Record<string, any>, fields: readonly string[], operationId: string): Record<string, any> {
  const { properties = {}, required = [], type: _type, ...rest } = schema;
  for (const f of fields) if (!(f in properties)) throw new Error(`${operationId}: exactlyOneOf names ${f}, which the input does not have`);
  const common = Object.fromEntries(Object.entries<any>(properties).filter(([k]) => !fields.includes(k)));
  return {
    ...rest,
    oneOf: fields.map((f) => ({
      title: `By ${f}`,
      type: "object",
      properties: { [f]: properties[f], ...common },
      required: [f, ...required.filter((r: string) => !fields.includes(r))],
    })),
  };
}

/** Every `$ref` string under a value. */
function refsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.add(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** Drops the components nothing refers to (trpc-to-openapi's own `error.*` schemas, for one). Security schemes are referred to by name and kept. */
function pruneUnreferencedComponents(doc: Record<string, any>): void {
  const components: Record<string, Record<string, unknown>> = doc.components ?? {};
  const { components: _c, ...rest } = doc;
  const reached = refsIn(rest);
  for (let grew = true; grew; ) {
    grew = false;
    for (const ref of [...reached]) {
      const m = /^#\/components\/([^/]+)\/(.+)$/.exec(ref);
      const target = m ? components[m[1]!]?.[m[2]!] : undefined;
      for (const inner of refsIn(target)) {
        if (!reached.has(inner)) {
          reached.add(inner);
          grew = true;
        }
      }
    }
  }
  for (const [section, entries] of Object.entries(components)) {
    if (section === "securitySchemes") continue;
    for (const name of Object.keys(entries)) if (!reached.has(`#/components/${section}/${name}`)) delete entries[name];
    if (Object.keys(entries).length === 0) delete components[section];
  }
}

function errorStatusesFor(def: ProcedureDef, method: string): string[] {
  // 400 on every operation: a malformed path (dot segments, bad percent-encoding) or cursor; 503 while
  // the database is unreachable.
  const s = ["400", "422", "429", "500", "503"];
  if (method !== "get" && method !== "delete") s.push("413", "415");
  // A wrong password is a 401 on a public operation.
  if (!isPublic(def.meta.auth) || def.meta.operationId === "auth.login") s.push("401");
  if (!isPublic(def.meta.auth)) s.push("403");
  if (def.meta.rest.path.includes("{") || !isPublic(def.meta.auth)) s.push("404");
  // A campaign's status may forbid the edit or the transition.
  if (/^campaigns\.(update|delete|send|pause|resume|cancel)$/.test(def.meta.operationId)) s.push("409");
  if (def.meta.successStatus === 201 || def.meta.operationId === "members.update" || def.meta.operationId === "members.remove" || def.meta.operationId === "partnerTenants.update") s.push("409");
  // An Idempotency-Key whose first request is still in flight.
  if (def.meta.operationId === "transactional.send") s.push("409");
  return [...new Set(s)].sort();
}

/**
 * Downloads (contract kind `download`) are served by Express handlers, not tRPC, so trpc-to-openapi
 * does not see them: their operation is built here from the contract entry, with the body in the
 * media type it `produces`. The loop in buildOpenApiDocument then adds what every operation gets.
 */
function addDownloads(doc: Record<string, any>): void {
  for (const [, def] of contractEntries()) {
    if (def.kind !== "download") continue;
    const { path, method } = def.meta.rest;
    const shape = (def.input as unknown as { shape: Record<string, z.ZodType> }).shape;
    const parameters = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => {
      const { $schema: _s, description, ...schema } = z.toJSONSchema(shape[name!]!, { io: "input" }) as Record<string, any>;
      return { in: "path", name, required: true, ...(description ? { description } : {}), schema };
    });
    const { $schema: _s, ...body } = z.toJSONSchema(def.output, { io: "output" }) as Record<string, any>;
    doc.paths ??= {};
    doc.paths[path] ??= {};
    doc.paths[path][method.toLowerCase()] = {
      operationId: def.meta.operationId,
      summary: def.meta.summary,
      tags: [...def.meta.tags],
      parameters,
      responses: {
        "200": {
          description: "OK",
          headers: headerRefs(["Content-Disposition"]),
          content: { [def.meta.produces!]: { schema: body } },
        },
      },
    };
  }
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
  addDownloads(doc);
  const byOperationId = new Map(contractEntries().map(([, def]) => [def.meta.operationId, def]));
  doc.info = { ...doc.info, license: LICENSE, contact: CONTACT };
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
      op.description = [def.meta.description, `**Authentication:** ${authText(def.meta.auth)}`, `**Rate-limit group:** \`${def.meta.rateLimit}\`.`]
        .filter(Boolean)
        .join("\n\n");
      const body = op.requestBody?.content?.["application/json"];
      if (def.meta.exactlyOneOf && body?.schema) body.schema = exactlyOneOf(body.schema, def.meta.exactlyOneOf, def.meta.operationId);
      // The input object's own example (trpc-to-openapi rebuilds the body object without it): what /docs pre-fills.
      const example = def.input.meta()?.example;
      if (example !== undefined && body?.schema) body.schema = { ...body.schema, example };
      const security = securityFor(def.meta.auth);
      if (security.length > 0) op.security = security;
      else op.security = [];
      const responses: Record<string, any> = {};
      const success = op.responses?.["200"];
      responses[String(def.meta.successStatus)] = { ...success, description: def.meta.successStatus === 201 ? "Created" : "OK", headers: { ...success?.headers, ...COMMON_HEADERS } };
      for (const status of errorStatusesFor(def, method)) {
        const extra = ERROR_EXTRAS[def.meta.operationId]?.[status];
        let schema: Record<string, unknown> = { $ref: "#/components/schemas/ErrorEnvelope" };
        if (extra) {
          // The output schema becomes a named component, shared by the success and this error response.
          const output = success?.content?.["application/json"];
          if (!output?.schema) throw new Error(`${def.meta.operationId}: no output schema for the ${status} body`);
          doc.components.schemas[extra.component] = output.schema;
          output.schema = { $ref: `#/components/schemas/${extra.component}` };
          schema = {
            allOf: [
              { $ref: "#/components/schemas/ErrorEnvelope" },
              { type: "object", required: [extra.field], properties: { [extra.field]: { $ref: `#/components/schemas/${extra.component}` } } },
            ],
          };
        }
        responses[status] = {
          description: extra?.description ?? ERROR_STATUSES[status],
          headers: status === "429" || status === "503" ? { ...COMMON_HEADERS, ...headerRefs(["Retry-After"]) } : COMMON_HEADERS,
          content: { "application/json": { schema } },
        };
      }
      op.responses = responses;
      const rule = def.meta.auth;
      if (!isPublic(rule) && rule.accepts.includes("member") && rule.orgFrom !== "input") {
        op.parameters = [...(op.parameters ?? []), orgIdParameter(rule)];
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
  const used = new Set(contractEntries().flatMap(([, def]) => def.meta.tags));
  for (const tag of used) if (!TAGS.some((t) => t.name === tag)) throw new Error(`tag ${tag} has no description in TAGS (openapi.ts)`);
  doc.tags = TAGS.filter((t) => used.has(t.name));
  pruneUnreferencedComponents(doc);
  applyExamples(doc); // request/response examples recorded from the HTTP tests (pnpm examples:update)
  return doc;
}

import { z } from "zod";
import { defineProcedure } from "../define";
import { apiKeySchema, apiKeyScopeSchema, createdApiKeySchema } from "../resources";
import { idOf, nameSchema, page, paginationInput } from "../schemas";

// API keys of one project, managed by organization principals (ADMIN writes, VIEWER reads).

const projectId = idOf("proj_");
const keyId = idOf("key_");
const orgPrincipals = ["member", "tenant", "partnerTenant"] as const;

export const list = defineProcedure({
  operationId: "apiKeys.list",
  summary: "API keys of a project, revoked ones included (never the key itself)",
  tags: ["api-keys"],
  rest: { method: "GET", path: "/projects/{projectId}/api-keys" },
  auth: { accepts: orgPrincipals, role: "VIEWER" },
  input: z.object({ projectId, ...paginationInput }),
  output: page(apiKeySchema),
});

export const create = defineProcedure({
  operationId: "apiKeys.create",
  summary: "Create an API key (ADMIN); the full key is in this response only. Several keys can be active at once.",
  tags: ["api-keys"],
  rest: { method: "POST", path: "/projects/{projectId}/api-keys" },
  auth: { accepts: orgPrincipals, role: "ADMIN" },
  successStatus: 201,
  input: z.object({ projectId, name: nameSchema, scope: apiKeyScopeSchema.optional().meta({ description: "full (default) or publishable (safe in a page)" }) }),
  output: createdApiKeySchema,
});

export const revoke = defineProcedure({
  operationId: "apiKeys.revoke",
  summary: "Revoke an API key (ADMIN): it fails from the next request on, on every instance",
  tags: ["api-keys"],
  rest: { method: "DELETE", path: "/projects/{projectId}/api-keys/{keyId}" },
  auth: { accepts: orgPrincipals, role: "ADMIN" },
  input: z.object({ projectId, keyId }),
  output: apiKeySchema,
});

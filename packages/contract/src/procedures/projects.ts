import { z } from "zod";
import { defineProcedure } from "../define";
import { allowedOriginsSchema, deliveryPolicyInput, environmentSchema, projectSchema, timezoneSchema } from "../resources";
import { deletedSchema, idOf, nameSchema, page, paginationInput, projectRateLimitsSchema, timestamp } from "../schemas";

// Projects of the caller's organization. The organization comes from the principal: `x-org-id` for a
// dashboard JWT, the tenant for tenant and partner tokens. ADMIN and up write.

const projectId = idOf("proj_");
const orgPrincipals = ["member", "tenant", "partnerTenant"] as const;

export const list = defineProcedure({
  operationId: "projects.list",
  summary: "Projects of the organization",
  tags: ["projects"],
  rest: { method: "GET", path: "/projects" },
  auth: { accepts: orgPrincipals, role: "VIEWER" },
  input: z.object(paginationInput),
  output: page(projectSchema),
});

export const create = defineProcedure({
  operationId: "projects.create",
  summary: "Create a project with its own VAPID key pair (ADMIN)",
  tags: ["projects"],
  rest: { method: "POST", path: "/projects" },
  auth: { accepts: orgPrincipals, role: "ADMIN" },
  successStatus: 201,
  input: z.object({
    name: nameSchema,
    environment: environmentSchema.meta({ description: "live keys start rb_live_, sandbox keys rb_test_ (sandbox never contacts a push service)" }),
    timezone: timezoneSchema.optional().meta({ description: "Default time zone for quiet hours when a subscriber's is unknown (UTC when omitted)" }),
    deliveryPolicy: deliveryPolicyInput.optional(),
    allowedOrigins: allowedOriginsSchema.optional(),
  }),
  output: projectSchema,
});

export const get = defineProcedure({
  operationId: "projects.get",
  summary: "Read one project",
  tags: ["projects"],
  rest: { method: "GET", path: "/projects/{projectId}" },
  auth: { accepts: orgPrincipals, role: "VIEWER" },
  input: z.object({ projectId }),
  output: projectSchema,
});

export const update = defineProcedure({
  operationId: "projects.update",
  summary: "Rename a project or change its time zone, delivery policy, raised rate limits, allowed origins or identity verification (ADMIN); the environment is fixed at creation",
  tags: ["projects"],
  rest: { method: "PATCH", path: "/projects/{projectId}" },
  auth: { accepts: orgPrincipals, role: "ADMIN" },
  input: z.object({
    projectId,
    name: nameSchema.optional(),
    timezone: timezoneSchema.optional(),
    deliveryPolicy: deliveryPolicyInput.optional().meta({ description: "Keys given replace their value (null clears the rule); keys left out are kept" }),
    rateLimits: projectRateLimitsSchema.nullable().optional().meta({
      description: "Raised per-minute limits for the `default` and/or `ingest` groups (the auth group is never raised); replaces the current ones, null = back to the server's limits",
    }),
    allowedOrigins: allowedOriginsSchema.optional().meta({ description: "Replaces the list; [] = no page may use the project's publishable keys" }),
    identityVerification: z.boolean().optional().meta({ description: "true requires identityToken on identify from publishable keys (create the identity secret first, else 409)" }),
  }),
  output: projectSchema,
});

export const rotateIdentitySecret = defineProcedure({
  operationId: "projects.rotateIdentitySecret",
  summary: "Create or replace the project's identity secret (ADMIN); shown in this response only. The previous secret stops verifying at once.",
  description:
    "Your backend computes `identityToken = hex(HMAC-SHA256(identitySecret, externalId))` and hands it to the page, which passes it to `identify`. " +
    "Turn verification on with `PATCH /projects/{projectId}` `{identityVerification: true}`.",
  tags: ["projects"],
  rest: { method: "POST", path: "/projects/{projectId}/identity-secret" },
  auth: { accepts: orgPrincipals, role: "ADMIN" },
  input: z.object({ projectId }),
  output: z.object({
    projectId: z.string(),
    identitySecret: z.string().meta({ description: "256 random bits, hex. Shown only in this response: store it on your backend now." }),
    createdAt: timestamp,
  }),
});

export const remove = defineProcedure({
  operationId: "projects.delete",
  summary: "Delete a project with its API keys and subscribers (ADMIN); its keys stop working at once",
  tags: ["projects"],
  rest: { method: "DELETE", path: "/projects/{projectId}" },
  auth: { accepts: orgPrincipals, role: "ADMIN" },
  input: z.object({ projectId }),
  output: deletedSchema,
});

import { z } from "zod";
import { defineProcedure } from "../define";
import { nameSchema, organizationSchema, page, paginationInput, text } from "../schemas";

/** A tenant as its partner sees it: the organization, with its partner and external id always set. */
export const tenantSchema = organizationSchema.extend({ partnerId: z.string(), externalId: z.string() });

/**
 * A partner's own identifier for a tenant. It addresses the tenant in paths and in the
 * `reach-tenant-id` header, so it is limited to printable characters without `/`.
 */
export const tenantExternalIdSchema = text()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^/\s?#%]+$/, "externalId may not contain spaces, /, ?, # or %")
  .meta({ description: "The partner's own identifier for the tenant (unique per partner)", example: "acme-42" });

const idOrExternalId = text()
  .min(1)
  .max(200)
  .meta({ description: "The tenant's organization id (org_…) or its externalId", example: "acme-42" });

export const create = defineProcedure({
  operationId: "partnerTenants.create",
  summary: "Create a tenant: an organization owned by the calling partner",
  tags: ["partner"],
  rest: { method: "POST", path: "/partner/tenants" },
  auth: { accepts: ["partner"] },
  successStatus: 201,
  input: z.object({ externalId: tenantExternalIdSchema, name: nameSchema }),
  output: tenantSchema,
});

export const list = defineProcedure({
  operationId: "partnerTenants.list",
  summary: "The calling partner's tenants, oldest first; `search` matches name or externalId (case-insensitive)",
  tags: ["partner"],
  rest: { method: "GET", path: "/partner/tenants" },
  auth: { accepts: ["partner"] },
  input: z.object({ ...paginationInput, search: text().trim().max(200).optional() }),
  output: page(tenantSchema),
});

export const get = defineProcedure({
  operationId: "partnerTenants.get",
  summary: "Read one of the calling partner's tenants by id or externalId",
  tags: ["partner"],
  rest: { method: "GET", path: "/partner/tenants/{idOrExternalId}" },
  auth: { accepts: ["partner"] },
  input: z.object({ idOrExternalId }),
  output: tenantSchema,
});

export const update = defineProcedure({
  operationId: "partnerTenants.update",
  summary: "Rename a tenant or change its externalId (tenant tokens naming the old externalId stop working)",
  tags: ["partner"],
  rest: { method: "PATCH", path: "/partner/tenants/{idOrExternalId}" },
  auth: { accepts: ["partner"] },
  input: z.object({ idOrExternalId, name: nameSchema.optional(), externalId: tenantExternalIdSchema.optional() }),
  output: tenantSchema,
});

import { z } from "zod";
import { defineProcedure } from "../define";
import { deletedSchema, idOf, myOrganizationSchema, nameSchema, organizationSchema, page, paginationInput } from "../schemas";

const orgId = idOf("org_");

export const list = defineProcedure({
  operationId: "organizations.list",
  summary: "The organizations the caller belongs to",
  tags: ["organizations"],
  rest: { method: "GET", path: "/organizations" },
  auth: { accepts: ["user"] },
  input: z.object(paginationInput),
  output: page(myOrganizationSchema),
});

export const create = defineProcedure({
  operationId: "organizations.create",
  summary: "Create an organization; the caller becomes its OWNER",
  tags: ["organizations"],
  rest: { method: "POST", path: "/organizations" },
  auth: { accepts: ["user"] },
  successStatus: 201,
  input: z.object({ name: nameSchema }),
  output: myOrganizationSchema,
});

export const get = defineProcedure({
  operationId: "organizations.get",
  summary: "Read one organization",
  tags: ["organizations"],
  rest: { method: "GET", path: "/organizations/{orgId}" },
  auth: { accepts: ["member"], role: "VIEWER", orgFrom: "input" },
  input: z.object({ orgId }),
  output: myOrganizationSchema,
});

export const update = defineProcedure({
  operationId: "organizations.update",
  summary: "Rename an organization (OWNER)",
  tags: ["organizations"],
  rest: { method: "PATCH", path: "/organizations/{orgId}" },
  auth: { accepts: ["member"], role: "OWNER", orgFrom: "input" },
  input: z.object({ orgId, name: nameSchema }),
  output: myOrganizationSchema,
});

export const remove = defineProcedure({
  operationId: "organizations.delete",
  summary: "Delete an organization and everything in it (OWNER)",
  tags: ["organizations"],
  rest: { method: "DELETE", path: "/organizations/{orgId}" },
  auth: { accepts: ["member"], role: "OWNER", orgFrom: "input" },
  input: z.object({ orgId }),
  output: deletedSchema,
});

export { organizationSchema };

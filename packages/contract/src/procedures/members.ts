import { z } from "zod";
import { defineProcedure } from "../define";
import { deletedSchema, emailSchema, idOf, memberSchema, page, paginationInput, roleSchema } from "../schemas";

const orgId = idOf("org_");
const memberId = idOf("mem_");

export const list = defineProcedure({
  operationId: "members.list",
  summary: "Members of an organization",
  tags: ["members"],
  rest: { method: "GET", path: "/organizations/{orgId}/members" },
  auth: { accepts: ["member"], role: "VIEWER", orgFrom: "input" },
  input: z.object({ orgId, ...paginationInput }),
  output: page(memberSchema),
});

export const add = defineProcedure({
  operationId: "members.add",
  summary: "Add an existing user to the organization by email (OWNER)",
  tags: ["members"],
  rest: { method: "POST", path: "/organizations/{orgId}/members" },
  auth: { accepts: ["member"], role: "OWNER", orgFrom: "input" },
  successStatus: 201,
  input: z.object({ orgId, email: emailSchema, role: roleSchema }),
  output: memberSchema,
});

export const update = defineProcedure({
  operationId: "members.update",
  summary: "Change a member's role (OWNER); the last OWNER cannot be demoted",
  tags: ["members"],
  rest: { method: "PATCH", path: "/organizations/{orgId}/members/{memberId}" },
  auth: { accepts: ["member"], role: "OWNER", orgFrom: "input" },
  input: z.object({ orgId, memberId, role: roleSchema }),
  output: memberSchema,
});

export const remove = defineProcedure({
  operationId: "members.remove",
  summary: "Remove a member (OWNER); the last OWNER cannot be removed",
  tags: ["members"],
  rest: { method: "DELETE", path: "/organizations/{orgId}/members/{memberId}" },
  auth: { accepts: ["member"], role: "OWNER", orgFrom: "input" },
  input: z.object({ orgId, memberId }),
  output: deletedSchema,
});

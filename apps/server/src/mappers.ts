import type { Role } from "@reachbell/contract";
import type { MembershipsTable, OrganizationsTable } from "@reachbell/db";

// Rows → API objects, in one place: both dialects return ISO strings and numbers (see packages/db).

export function toOrganization(row: OrganizationsTable) {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan as "FREE" | "STARTER" | "GROWTH" | "BUSINESS" | "ENTERPRISE",
    partnerId: row.partnerId,
    externalId: row.externalId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toMember(row: MembershipsTable & { email: string; name: string }) {
  return {
    id: row.id,
    organizationId: row.organizationId,
    userId: row.userId,
    email: row.email,
    name: row.name,
    role: row.role as Role,
    createdAt: row.createdAt,
  };
}

import type { Generated } from "kysely";

// The database as the application sees it (camelCase through Kysely's CamelCasePlugin).
// Timestamps are ISO-8601 strings on both dialects (pg's timestamptz parser is set to return
// them), booleans are never stored (statuses are text), JSON is text.

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  plan: string;
  partnerId: string | null;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface MembershipsTable {
  id: string;
  organizationId: string;
  userId: string;
  role: string;
  createdAt: string;
}

export interface SchemaMigrationsTable {
  name: string;
  appliedAt: Generated<string>;
}

export interface DB {
  users: UsersTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
}

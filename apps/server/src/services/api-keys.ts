import { API_KEY_PREFIX, hashApiKey, mintApiKey } from "@reachbell/auth";
import type { ApiKeyScope } from "@reachbell/contract";
import { newId } from "@reachbell/db";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { toApiKey } from "../mappers";
import { paginate } from "../pagination";

/** The project, if it is in the organization (authenticate already checked; this keeps the query scoped anyway). */
async function projectIn(deps: Deps, orgId: string, projectId: string) {
  const project = await deps.database.db
    .selectFrom("projects")
    .select(["id", "environment"])
    .where("id", "=", projectId)
    .where("organizationId", "=", orgId)
    .executeTakeFirst();
  if (!project) throw new DomainError("PROJECT_NOT_FOUND");
  return project;
}

export async function list(deps: Deps, orgId: string, input: { projectId: string; limit?: number; cursor?: string }) {
  await projectIn(deps, orgId, input.projectId);
  const query = deps.database.db.selectFrom("apiKeys").selectAll().where("projectId", "=", input.projectId);
  const { rows, nextCursor } = await paginate(query, "id", input);
  return { data: rows.map(toApiKey), nextCursor };
}

/**
 * Mints a key for the project's environment (`rb_live_` / `rb_test_` + 192 random bits, base64url), of either scope.
 * Only its SHA-256 is stored; the full key is in this response and nowhere else.
 */
export async function create(deps: Deps, orgId: string, input: { projectId: string; name: string; scope?: ApiKeyScope | undefined }) {
  const project = await projectIn(deps, orgId, input.projectId);
  const key = mintApiKey(project.environment);
  const row = {
    id: newId("key"),
    projectId: project.id,
    name: input.name,
    keyHash: hashApiKey(key),
    // Publishable keys keep the environment's prefix: the scope is the key's, not its spelling's.
    scope: input.scope ?? "full",
    prefix: API_KEY_PREFIX[project.environment],
    last4: key.slice(-4),
    createdAt: deps.clock().toISOString(),
    lastUsedAt: null,
    revokedAt: null,
  };
  await deps.database.db.insertInto("apiKeys").values(row).execute();
  return { ...toApiKey(row), key };
}

/** Revokes the key (idempotent: revoking again keeps the first revokedAt) and drops it from every instance's cache. */
export async function revoke(deps: Deps, orgId: string, input: { projectId: string; keyId: string }) {
  await projectIn(deps, orgId, input.projectId);
  const db = deps.database.db;
  const find = () => db.selectFrom("apiKeys").selectAll().where("id", "=", input.keyId).where("projectId", "=", input.projectId).executeTakeFirst();
  const row = await find();
  if (!row) throw new DomainError("API_KEY_NOT_FOUND");
  if (row.revokedAt === null) {
    await db.updateTable("apiKeys").set({ revokedAt: deps.clock().toISOString() }).where("id", "=", row.id).where("revokedAt", "is", null).execute();
  }
  // Always invalidate: cheap, and it also covers a previous revocation whose broadcast was lost.
  await deps.apiKeys.revoked(row.keyHash);
  const after = await find();
  return toApiKey(after ?? row);
}

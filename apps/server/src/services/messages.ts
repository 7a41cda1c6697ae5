import type { Scope } from "../auth/principal";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { toMessage } from "../mappers";

export async function get(deps: Deps, scope: Scope, id: string) {
  let q = deps.database.db
    .selectFrom("messages")
    .innerJoin("projects", "projects.id", "messages.projectId")
    .selectAll("messages")
    .where("messages.id", "=", id)
    .where("projects.organizationId", "=", scope.orgId);
  if (scope.projectId) q = q.where("messages.projectId", "=", scope.projectId);
  const row = await q.executeTakeFirst();
  if (!row) throw new DomainError("MESSAGE_NOT_FOUND");
  return toMessage(row);
}

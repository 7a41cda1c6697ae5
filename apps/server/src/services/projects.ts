import type { DeliveryPolicy, ProjectRateLimits } from "@reachbell/contract";
import { type ProjectsTable, newId } from "@reachbell/db";
import type { Updateable } from "kysely";
import { newIdentitySecret } from "../auth/identity-verification";
import { generateVapidKeys } from "@reachbell/push";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { toProject } from "../mappers";
import { NO_POLICY } from "../push/delivery-policy";
import { paginate } from "../pagination";

type PolicyInput = { quietHours?: DeliveryPolicy["quietHours"] | undefined; frequencyCap?: DeliveryPolicy["frequencyCap"] | undefined };

// Every query is filtered by the caller's organization: another organization's project reads as 404.

export async function list(deps: Deps, orgId: string, input: { limit?: number; cursor?: string }) {
  const query = deps.database.db.selectFrom("projects").selectAll().where("organizationId", "=", orgId);
  const { rows, nextCursor } = await paginate(query, "id", input);
  return { data: rows.map(toProject), nextCursor };
}

async function findRow(deps: Deps, orgId: string, projectId: string) {
  const row = await deps.database.db.selectFrom("projects").selectAll().where("id", "=", projectId).where("organizationId", "=", orgId).executeTakeFirst();
  if (!row) throw new DomainError("PROJECT_NOT_FOUND");
  return row;
}

export async function get(deps: Deps, orgId: string, projectId: string) {
  return toProject(await findRow(deps, orgId, projectId));
}

/**
 * Creates the project and its VAPID key pair. The private key is sealed with ENCRYPTION_KEY
 * (AES-256-GCM, the project id as associated data so a sealed key cannot be moved to another
 * project) and never leaves the server; the public key is returned for `applicationServerKey`.
 */
export async function create(
  deps: Deps,
  orgId: string,
  input: { name: string; environment: "live" | "sandbox"; timezone?: string | undefined; deliveryPolicy?: PolicyInput | undefined; allowedOrigins?: string[] | undefined },
) {
  const id = newId("proj");
  const now = deps.clock().toISOString();
  const vapid = generateVapidKeys();
  const row = {
    id,
    organizationId: orgId,
    name: input.name,
    environment: input.environment,
    timezone: input.timezone ?? "UTC",
    vapidPublicKey: vapid.publicKey,
    vapidPrivateKeyEnc: deps.secrets.seal(vapid.privateKey, id),
    deliveryPolicy: JSON.stringify(mergePolicy(NO_POLICY, input.deliveryPolicy)),
    rateLimits: null,
    allowedOrigins: storedOrigins(input.allowedOrigins),
    identityVerification: "off" as const,
    identitySecretEnc: null,
    identitySecretCreatedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await deps.database.db.insertInto("projects").values(row).execute();
  return toProject(row);
}

export async function update(
  deps: Deps,
  orgId: string,
  input: {
    projectId: string;
    name?: string | undefined;
    timezone?: string | undefined;
    deliveryPolicy?: PolicyInput | undefined;
    rateLimits?: ProjectRateLimits | null | undefined;
    allowedOrigins?: string[] | undefined;
    identityVerification?: boolean | undefined;
  },
) {
  const row = await findRow(deps, orgId, input.projectId);
  const current = toProject(row);
  // Verification without a secret would refuse every identify from the page: say what to do first.
  if (input.identityVerification === true && row.identitySecretEnc === null) throw new DomainError("IDENTITY_SECRET_MISSING");
  const changes: Updateable<ProjectsTable> & { updatedAt: string } = {
    updatedAt: deps.clock().toISOString(),
  };
  if (input.name !== undefined) changes.name = input.name;
  if (input.timezone !== undefined) changes.timezone = input.timezone;
  if (input.deliveryPolicy !== undefined) changes.deliveryPolicy = JSON.stringify(mergePolicy(current.deliveryPolicy, input.deliveryPolicy));
  // `{}` means no raised limit either: stored as null, like the operator CLI's --clear.
  if (input.rateLimits !== undefined) changes.rateLimits = input.rateLimits && Object.keys(input.rateLimits).length > 0 ? JSON.stringify(input.rateLimits) : null;
  if (input.allowedOrigins !== undefined) changes.allowedOrigins = storedOrigins(input.allowedOrigins);
  if (input.identityVerification !== undefined) changes.identityVerification = input.identityVerification ? "on" : "off";
  await deps.database.db.updateTable("projects").set(changes).where("id", "=", input.projectId).where("organizationId", "=", orgId).execute();
  // Per-project caches (VAPID signers, rate limits, verified API keys with their origins) re-read the project on every instance.
  await deps.bus.publish({ kind: "project", projectId: input.projectId });
  return get(deps, orgId, input.projectId);
}

/**
 * Makes a new identity secret, replacing the previous one at once (tokens computed with it stop
 * verifying). Returned this once; stored sealed, since the server computes HMACs with it.
 */
export async function rotateIdentitySecret(deps: Deps, orgId: string, projectId: string) {
  await findRow(deps, orgId, projectId);
  const { secret, sealed } = newIdentitySecret(deps.secrets, projectId);
  const createdAt = deps.clock().toISOString();
  await deps.database.db
    .updateTable("projects")
    .set({ identitySecretEnc: sealed, identitySecretCreatedAt: createdAt, updatedAt: createdAt })
    .where("id", "=", projectId)
    .where("organizationId", "=", orgId)
    .execute();
  return { projectId, identitySecret: secret, createdAt };
}

/** Deletes the project (keys, subscribers and tags go by cascade); its API keys are forgotten on every instance. */
export async function remove(deps: Deps, orgId: string, projectId: string) {
  const result = await deps.database.db.deleteFrom("projects").where("id", "=", projectId).where("organizationId", "=", orgId).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new DomainError("PROJECT_NOT_FOUND");
  await deps.apiKeys.projectDeleted(projectId);
  return { id: projectId, deleted: true as const };
}

const storedOrigins = (origins: string[] | undefined): string | null => (origins && origins.length > 0 ? JSON.stringify(origins) : null);

function mergePolicy(current: DeliveryPolicy, change: PolicyInput | undefined): DeliveryPolicy {
  return {
    quietHours: change?.quietHours !== undefined ? change.quietHours : current.quietHours,
    frequencyCap: change?.frequencyCap !== undefined ? change.frequencyCap : current.frequencyCap,
  };
}

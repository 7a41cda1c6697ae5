import type { Scope } from "../auth/principal";
import type { Deps } from "../context";
import { DomainError } from "../errors";

export type NotificationEventType = "displayed" | "clicked" | "dismissed";

export interface NotificationEventInput {
  messageId: string;
  token: string;
  type: NotificationEventType;
  action?: string | undefined;
}

/**
 * Records what the service worker saw happen to a push. The message must belong to the key's project
 * and to the subscriber holding `token` (else MESSAGE_NOT_FOUND, and nothing changes). Idempotent per
 * message × type: each timestamp is set only while it is null (the condition is in the UPDATE itself,
 * so concurrent reports cannot both win), and a click implies a display. `dismissed` has no column
 * yet: it is accepted, and a repeat is not detectable (duplicate: false). Every accepted report marks
 * the subscriber as seen.
 */
export async function recordNotificationEvent(deps: Deps, scope: Scope, input: NotificationEventInput): Promise<{ accepted: true; duplicate: boolean }> {
  const projectId = scope.projectId;
  if (!projectId) throw new Error("notification events need an API key's project");
  const db = deps.database.db;
  const row = await db
    .selectFrom("messages")
    .innerJoin("subscribers", "subscribers.id", "messages.subscriberId")
    .select(["messages.id as id", "subscribers.id as subscriberId"])
    .where("messages.id", "=", input.messageId)
    .where("messages.projectId", "=", projectId)
    .where("subscribers.projectId", "=", projectId)
    .where("subscribers.token", "=", input.token)
    .executeTakeFirst();
  if (!row) throw new DomainError("MESSAGE_NOT_FOUND");

  const now = deps.clock().toISOString();
  let duplicate = false;
  if (input.type === "displayed" || input.type === "clicked") {
    const column = input.type === "displayed" ? "displayedAt" : "clickedAt";
    const res = await db.updateTable("messages").set({ [column]: now }).where("id", "=", row.id).where(column, "is", null).executeTakeFirst();
    duplicate = Number(res.numUpdatedRows) === 0;
    // A click on a notification means it was displayed, even when that report was lost.
    if (input.type === "clicked") await db.updateTable("messages").set({ displayedAt: now }).where("id", "=", row.id).where("displayedAt", "is", null).execute();
  }
  await db.updateTable("subscribers").set({ lastSeenAt: now }).where("id", "=", row.subscriberId).execute();
  return { accepted: true, duplicate };
}

/** The browser SDK's configuration for the key's project: its VAPID public key. */
export async function sdkConfig(deps: Deps, scope: Scope): Promise<{ projectId: string; vapidPublicKey: string; sandbox: boolean }> {
  if (!scope.projectId) throw new Error("sdk config needs an API key's project");
  const row = await deps.database.db.selectFrom("projects").select(["id", "vapidPublicKey", "environment"]).where("id", "=", scope.projectId).executeTakeFirst();
  if (!row) throw new DomainError("PROJECT_NOT_FOUND");
  return { projectId: row.id, vapidPublicKey: row.vapidPublicKey, sandbox: row.environment === "sandbox" };
}

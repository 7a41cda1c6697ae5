import type { MESSAGE_REASONS, Role } from "@reachbell/contract";
import type { MembershipsTable, OrganizationsTable } from "@reachbell/db";
import type { PushContent } from "./push/deliver";
import { parseDeliveryPolicy } from "./push/delivery-policy";
import { parseProjectRateLimits } from "./rate-limit/project-limits";
import { parseOrigins } from "./services/partners";

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

export function toMessage(row: import("@reachbell/db").MessagesTable) {
  // The stored payload is what the service worker received: the content plus its messageId.
  const payload = JSON.parse(row.payload) as PushContent & { messageId: string };
  return {
    id: row.id,
    projectId: row.projectId,
    subscriberId: row.subscriberId,
    kind: row.kind,
    campaignId: row.campaignId ?? null,
    sandbox: row.mode === "sandbox",
    status: row.status,
    reason: row.reason as (typeof MESSAGE_REASONS)[number] | null,
    pushStatus: row.pushStatus,
    payload,
    attempts: JSON.parse(row.attempts) as { at: string; status: number | null; error: string | null; durationMs: number }[],
    createdAt: row.createdAt,
    completedAt: row.completedAt,
    durationMs: row.durationMs,
  };
}

// Projects, API keys, subscribers.

export function toProject(row: import("@reachbell/db").ProjectsTable) {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    environment: row.environment,
    timezone: row.timezone,
    vapidPublicKey: row.vapidPublicKey,
    deliveryPolicy: parseDeliveryPolicy(row.deliveryPolicy),
    rateLimits: parseProjectRateLimits(row.rateLimits),
    allowedOrigins: parseOrigins(row.allowedOrigins),
    identityVerification: row.identityVerification === "on",
    identitySecretCreatedAt: row.identitySecretCreatedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toApiKey(row: import("@reachbell/db").ApiKeysTable) {
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    scope: row.scope,
    prefix: row.prefix,
    last4: row.last4,
    display: `${row.prefix}…${row.last4}`,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

/** The subscription keys (p256dh, auth) are write-only: they never leave the server. */
export function toSubscriber(row: import("@reachbell/db").SubscribersTable, tags: readonly string[]) {
  return {
    id: row.id,
    projectId: row.projectId,
    token: row.token,
    status: row.status,
    endpoint: row.endpoint,
    externalId: row.externalId,
    tags: [...tags],
    userAgent: row.userAgent,
    browser: row.browser,
    os: row.os,
    deviceType: row.deviceType,
    timezone: row.timezone,
    language: row.language,
    country: row.country,
    city: row.city,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    // Null only for a row the 0006 backfill has not reached: it was last seen when it was created.
    lastSeenAt: row.lastSeenAt ?? row.createdAt,
  };
}

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

export interface PartnersTable {
  id: string;
  name: string;
  createdAt: string;
  /** JSON text: browser origins allowed (CORS) with this partner's tenant tokens; null = none. */
  allowedOrigins: string | null;
}

export interface PartnerSecretsTable {
  id: string;
  partnerId: string;
  /** AES-256-GCM sealed with ENCRYPTION_KEY. */
  secretEnc: string;
  createdAt: string;
  /** Set when rotated out: the secret verifies until then. */
  expiresAt: string | null;
}

export interface ProjectsTable {
  id: string;
  organizationId: string;
  name: string;
  environment: "live" | "sandbox";
  timezone: string;
  vapidPublicKey: string;
  /** AES-256-GCM sealed with ENCRYPTION_KEY; never returned. */
  vapidPrivateKeyEnc: string;
  /** JSON text: {quietHours, frequencyCap}. */
  deliveryPolicy: string;
  /** JSON text or null: raised rate limits per group. */
  rateLimits: string | null;
  /** JSON text of an array of origins, or null (none): pages that may use the publishable keys. */
  allowedOrigins: string | null;
  /** `on`: identify from a publishable key needs an identityToken. */
  identityVerification: "off" | "on";
  /** HMAC key for identity tokens, sealed with ENCRYPTION_KEY (associated data: the project id); never returned after creation. */
  identitySecretEnc: string | null;
  identitySecretCreatedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeysTable {
  id: string;
  projectId: string;
  name: string;
  /** SHA-256 hex of the full key. */
  keyHash: string;
  /** `full` or `publishable`. */
  scope: "full" | "publishable";
  prefix: string;
  last4: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SubscribersTable {
  id: string;
  projectId: string;
  token: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  externalId: string | null;
  status: "active" | "unsubscribed" | "expired";
  userAgent: string | null;
  browser: string | null;
  os: string | null;
  deviceType: string | null;
  timezone: string | null;
  language: string | null;
  /** ISO 3166-1 alpha-2, uppercase: explicit at registration, else geo-IP. */
  country: string | null;
  city: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set at registration, identify and tag changes. Null only for a row written between 0006 and its backfill. */
  lastSeenAt: string | null;
}

export interface SubscriberTagsTable {
  subscriberId: string;
  projectId: string;
  tag: string;
}

export interface SegmentsTable {
  id: string;
  projectId: string;
  name: string;
  /** JSON text: the segment's filters (canonical, as the contract's segmentFiltersSchema outputs them). */
  filters: string;
  createdAt: string;
  updatedAt: string;
}

/** `queued`: a campaign recipient not yet claimed by a sender. */
export type MessageStatus = "queued" | "pending" | "delivered" | "simulated" | "failed" | "skipped";

export type CampaignStatus = "draft" | "scheduled" | "sending" | "paused" | "sent" | "cancelled";

export interface CampaignsTable {
  id: string;
  projectId: string;
  name: string;
  status: CampaignStatus;
  /** JSON text: {title, body, iconUrl, imageUrl, clickUrl, badge, actions} as given (UTM not applied). */
  content: string;
  /** JSON text: {filters} or {savedSegmentId}, as given. */
  segment: string;
  /** JSON text: the filters the fan-out uses, frozen when sending starts. */
  audienceFilters: string | null;
  scheduleMode: "immediate" | "scheduled" | "draft";
  sendAt: string | null;
  timezone: string | null;
  /** JSON text: {source, medium, campaign} or null. */
  utm: string | null;
  ttl: number | null;
  urgency: "very-low" | "low" | "normal" | "high" | null;
  /** The last subscriber id already given a message row (the audience is walked in id order). */
  cursor: string | null;
  /** 1 once the whole audience has message rows. */
  audienceDone: number;
  /** Message rows written so far (the audience once audienceDone). */
  audienceCount: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  /** Stamped by every fan-out slice; a stale one while sending means the campaign lost its job. Optional: the engine alone writes it (0009). */
  fanoutHeartbeatAt?: string | null;
}

export interface MessagesTable {
  id: string;
  projectId: string;
  subscriberId: string | null;
  kind: "transactional" | "campaign";
  mode: "live" | "sandbox";
  /** JSON text: what the service worker receives. */
  payload: string;
  status: MessageStatus;
  reason: string | null;
  /** The push service's last HTTP status. */
  pushStatus: number | null;
  /** JSON text: [{status, error, durationMs, at}] per attempt. */
  attempts: string;
  createdAt: string;
  completedAt: string | null;
  durationMs: number | null;
  /** While `pending`: until when the sending instance holds it (renewed as it runs); past it, a sweep settles it. */
  leaseExpiresAt: string | null;
  /** The campaign this message belongs to (null for transactional). */
  campaignId: string | null;
  /** A queued campaign recipient deferred by quiet hours: not claimed before this instant. */
  notBefore: string | null;
  displayedAt: string | null;
  clickedAt: string | null;
}

export interface IdempotencyKeysTable {
  projectId: string;
  key: string;
  requestHash: string;
  state: "in_flight" | "done";
  /** JSON text of the first response body. */
  response: string | null;
  createdAt: string;
  /** While `in_flight`: the attempt holding the key, and until when (renewed as it runs); past it, a retry takes over. */
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
}

export interface DB {
  messages: MessagesTable;
  idempotencyKeys: IdempotencyKeysTable;
  users: UsersTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  partners: PartnersTable;
  partnerSecrets: PartnerSecretsTable;
  projects: ProjectsTable;
  apiKeys: ApiKeysTable;
  subscribers: SubscribersTable;
  subscriberTags: SubscriberTagsTable;
  segments: SegmentsTable;
  campaigns: CampaignsTable;
}

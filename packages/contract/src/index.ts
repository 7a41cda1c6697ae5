import * as auth from "./procedures/auth";
import * as members from "./procedures/members";
import * as organizations from "./procedures/organizations";
import * as partnerTenants from "./procedures/partner-tenants";
import * as transactional from "./procedures/transactional";
import * as projects from "./procedures/projects";
import * as apiKeys from "./procedures/api-keys";
import * as subscribers from "./procedures/subscribers";
import * as segments from "./procedures/segments";
import * as campaigns from "./procedures/campaigns";
import * as events from "./procedures/events";
import * as sdk from "./procedures/sdk";
import type { ProcedureDef, SubscriptionDef } from "./define";

export * from "./define";
export * from "./errors";
export * from "./schemas";
export * from "./resources";
export { MESSAGE_REASONS, MESSAGE_STATUSES, SEND_REASONS } from "./procedures/transactional";
export { tenantSchema, tenantExternalIdSchema } from "./procedures/partner-tenants";
export {
  segmentFiltersSchema,
  segmentFiltersOutputSchema,
  segmentSchema,
  SEGMENT_PLATFORMS,
  MAX_SEGMENT_EXTERNAL_IDS,
  MAX_SEGMENT_LIST,
  type SegmentFilters,
} from "./procedures/segments";
export {
  campaignSchema,
  campaignContentSchema,
  campaignMessageSchema,
  campaignStatsSchema,
  CAMPAIGN_STATUSES,
  CAMPAIGN_REASONS,
  CAMPAIGN_EXPORT_COLUMNS,
  MAX_CAMPAIGN_ACTIONS,
  SCHEDULE_MODES,
  type CampaignContent,
} from "./procedures/campaigns";

/** Every procedure of the API, declared once. The server implements exactly these. */
export const contract = {
  auth: { register: auth.register, login: auth.login, me: auth.me },
  organizations: {
    list: organizations.list,
    create: organizations.create,
    get: organizations.get,
    update: organizations.update,
    delete: organizations.remove,
  },
  members: { list: members.list, add: members.add, update: members.update, remove: members.remove },
  projects: {
    list: projects.list,
    create: projects.create,
    get: projects.get,
    update: projects.update,
    delete: projects.remove,
    rotateIdentitySecret: projects.rotateIdentitySecret,
  },
  apiKeys: { list: apiKeys.list, create: apiKeys.create, revoke: apiKeys.revoke },
  // Static paths before /subscribers/{id} (first-declared-wins routing).
  subscribers: {
    register: subscribers.register,
    identify: subscribers.identify,
    tags: subscribers.tags,
    unsubscribeByToken: subscribers.unsubscribeByToken,
    list: subscribers.list,
    get: subscribers.get,
    unsubscribe: subscribers.unsubscribe,
  },
  // Static paths before /segments/{segmentId} (first-declared-wins routing).
  segments: {
    create: segments.create,
    list: segments.list,
    count: segments.count,
    get: segments.get,
    update: segments.update,
    delete: segments.remove,
  },
  // Static paths before /campaigns/{campaignId} (first-declared-wins routing).
  campaigns: {
    create: campaigns.create,
    list: campaigns.list,
    get: campaigns.get,
    update: campaigns.update,
    delete: campaigns.remove,
    send: campaigns.sendNow,
    pause: campaigns.pause,
    resume: campaigns.resume,
    cancel: campaigns.cancel,
    messages: campaigns.messages,
    export: campaigns.exportCsv,
    progress: campaigns.progress,
  },
  transactional: { send: transactional.send },
  messages: { get: transactional.getMessage },
  events: { notifications: events.notificationEvent },
  sdk: { config: sdk.config },
  partnerTenants: { list: partnerTenants.list, create: partnerTenants.create, get: partnerTenants.get, update: partnerTenants.update },
} as const;

export type Contract = typeof contract;

function allEntries(): [string, ProcedureDef | SubscriptionDef][] {
  const out: [string, ProcedureDef | SubscriptionDef][] = [];
  for (const [ns, procs] of Object.entries(contract)) {
    for (const [name, def] of Object.entries(procs)) out.push([`${ns}.${name}`, def as ProcedureDef | SubscriptionDef]);
  }
  return out;
}

/**
 * The operations with a REST route, flattened into `[path, def]` pairs, e.g. `["organizations.get", def]`
 * (queries, mutations and downloads; subscriptions have no REST route: see `subscriptionEntries`).
 */
export function contractEntries(): [string, ProcedureDef][] {
  return allEntries().filter((e): e is [string, ProcedureDef] => e[1].kind !== "subscription");
}

/** The tRPC subscriptions (SSE on /trpc only), flattened like `contractEntries`. */
export function subscriptionEntries(): [string, SubscriptionDef][] {
  return allEntries().filter((e): e is [string, SubscriptionDef] => e[1].kind === "subscription");
}

import { z } from "zod";
import { defineProcedure, defineSubscription } from "../define";
import { timezoneSchema } from "../resources";
import { attemptSchema } from "./transactional";
import { segmentFiltersOutputSchema, segmentFiltersSchema } from "./segments";
import { MESSAGE_REASONS, MESSAGE_STATUSES } from "./transactional";
import { deletedSchema, idOf, nameSchema, page, paginationInput, storable, text, timestamp } from "../schemas";

// Campaigns (SPEC §8): one push to a segment. Read by VIEWER and up, written by MEMBER and up, or by
// an API key on its own project. Static paths come before /campaigns/{campaignId} (first-declared-wins).

const projectId = idOf("proj_");
const campaignId = idOf("cmp_");
const accepts = ["apiKey", "member", "tenant", "partnerTenant"] as const;

export const CAMPAIGN_STATUSES = ["draft", "scheduled", "sending", "paused", "sent", "cancelled"] as const;
export const SCHEDULE_MODES = ["immediate", "scheduled", "draft"] as const;
/** Chrome shows at most two action buttons (Notification.maxActions). */
export const MAX_CAMPAIGN_ACTIONS = 2;
export const CAMPAIGN_REASONS = MESSAGE_REASONS;

const httpUrl = storable(z.url({ protocol: /^https?$/, error: "Must be an http(s) URL" })).max(2048);

export const campaignActionSchema = z.strictObject({
  action: text().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ or -").meta({ description: "Reported back with the click (SPEC §9)" }),
  title: text().trim().min(1).max(100),
  url: httpUrl.optional().meta({ description: "Opened when this action is clicked (UTM parameters are appended)" }),
});

export const campaignContentSchema = z.strictObject({
  title: text().min(1).max(1000),
  body: text().max(4096),
  iconUrl: httpUrl.optional(),
  imageUrl: httpUrl.optional(),
  clickUrl: httpUrl.optional().meta({ description: "Opened when the notification is clicked (UTM parameters are appended)" }),
  badge: httpUrl.optional(),
  actions: z.array(campaignActionSchema).max(MAX_CAMPAIGN_ACTIONS).optional(),
});
export type CampaignContent = z.output<typeof campaignContentSchema>;

export const campaignSegmentSchema = z
  .strictObject({
    filters: segmentFiltersSchema.optional(),
    savedSegmentId: idOf("seg_").optional().meta({ description: "A saved segment of the same project, evaluated when sending starts" }),
  })
  .refine((v) => (v.filters === undefined) !== (v.savedSegmentId === undefined), { message: "Give exactly one of filters or savedSegmentId", path: ["filters"] })
  .meta({ description: "Who receives the campaign: inline filters, or a saved segment. Only active subscribers are ever in an audience." });

/** An instant with offset (`2026-12-05T09:00:00+01:00`), or a local date-time (`2026-12-05T09:00:00`) read in `timezone`. */
const sendAtSchema = text()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/, "Must be an ISO 8601 date-time, with an offset or local to `timezone`")
  .meta({ example: "2026-12-05T09:00:00" });

export const campaignScheduleSchema = z
  .strictObject({
    mode: z.enum(SCHEDULE_MODES).meta({ description: "`immediate` starts sending at once; `scheduled` at `sendAt`; `draft` waits for `POST /campaigns/{id}/send`" }),
    sendAt: sendAtSchema.optional().meta({ description: "Required when scheduled: an instant with offset, or a local date-time in `timezone`; must be in the future" }),
    timezone: timezoneSchema.optional().meta({ description: "IANA zone a local `sendAt` is read in (default: the project's timezone)" }),
  })
  .refine((s) => (s.mode === "scheduled") === (s.sendAt !== undefined), { message: "sendAt is required when mode is scheduled, and only then", path: ["sendAt"] });

export const utmSchema = z.strictObject({
  source: text().trim().min(1).max(100),
  medium: text().trim().min(1).max(100),
  campaign: text().trim().min(1).max(100),
});

const urgencySchema = z.enum(["very-low", "low", "normal", "high"]);
const ttlSchema = z.number().int().min(0).max(2_419_200).meta({ description: "Seconds the push service may keep each message (default 86400)" });

export const campaignStatsSchema = z.object({
  audience: z.number().int().meta({ description: "Recipients so far (the whole audience once the fan-out has walked it)" }),
  queued: z.number().int().meta({ description: "Recipients not sent yet (including those deferred by quiet hours)" }),
  sent: z.number().int().meta({ description: "Pushes handed to a push service (delivered + failed + expired)" }),
  delivered: z.number().int(),
  failed: z.number().int(),
  expired: z.number().int().meta({ description: "The push service said the subscription is gone (404/410); the subscriber is expired" }),
  skipped: z.number().int().meta({ description: "Frequency cap, inactive subscriber, or cancelled before sending" }),
  simulated: z.number().int().meta({ description: "Sandbox project: built, never sent" }),
  displayed: z.number().int(),
  clicked: z.number().int(),
});

export const campaignSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  status: z.enum(CAMPAIGN_STATUSES),
  content: z.object({
    title: z.string(),
    body: z.string(),
    iconUrl: z.string().optional(),
    imageUrl: z.string().optional(),
    clickUrl: z.string().optional(),
    badge: z.string().optional(),
    actions: z.array(z.object({ action: z.string(), title: z.string(), url: z.string().optional() })).optional(),
  }),
  segment: z.object({ filters: segmentFiltersOutputSchema.optional(), savedSegmentId: z.string().optional() }),
  schedule: z.object({ mode: z.enum(SCHEDULE_MODES), sendAt: timestamp.nullable().meta({ description: "The start instant (UTC)" }), timezone: z.string().nullable() }),
  utm: z.object({ source: z.string(), medium: z.string(), campaign: z.string() }).nullable(),
  ttl: z.number().int().nullable(),
  urgency: urgencySchema.nullable(),
  stats: campaignStatsSchema,
  createdAt: timestamp,
  updatedAt: timestamp,
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
});

export const campaignMessageSchema = z.object({
  id: z.string(),
  subscriberId: z.string().nullable(),
  status: z.enum(MESSAGE_STATUSES),
  reason: z.enum(CAMPAIGN_REASONS).nullable(),
  pushStatus: z.number().int().nullable(),
  attempts: z.array(attemptSchema),
  notBefore: timestamp.nullable().meta({ description: "Deferred by quiet hours until this instant" }),
  createdAt: timestamp,
  completedAt: timestamp.nullable(),
  displayedAt: timestamp.nullable(),
  clickedAt: timestamp.nullable(),
});

const campaignInput = {
  name: nameSchema,
  content: campaignContentSchema,
  segment: campaignSegmentSchema,
  schedule: campaignScheduleSchema,
  utm: utmSchema.optional().meta({ description: "Appended as utm_source/utm_medium/utm_campaign to clickUrl and every action URL" }),
  ttl: ttlSchema.optional(),
  urgency: urgencySchema.optional(),
};

export const create = defineProcedure({
  operationId: "campaigns.create",
  summary: "Create a campaign: send now, schedule it, or keep it as a draft",
  description:
    "The content is checked against the 4,096-byte Web Push limit with the largest payload the campaign can produce (422 `PUSH_PAYLOAD_TOO_LARGE`). `immediate` starts the fan-out at once.",
  tags: ["campaigns"],
  rest: { method: "POST", path: "/campaigns" },
  auth: { accepts, role: "MEMBER" },
  successStatus: 201,
  // Strict: a misspelt field (`segmnet`, `scheduel`) would otherwise be dropped and the campaign sent
  // with defaults; it is a 422 naming the key instead.
  input: z.strictObject({ projectId, ...campaignInput }),
  output: campaignSchema,
});

export const list = defineProcedure({
  operationId: "campaigns.list",
  summary: "Campaigns, newest first: of one project, or of every project in scope; optionally of one status",
  tags: ["campaigns"],
  rest: { method: "GET", path: "/campaigns" },
  auth: { accepts, role: "VIEWER" },
  input: z.object({ projectId: projectId.optional(), status: z.enum(CAMPAIGN_STATUSES).optional(), ...paginationInput }),
  output: page(campaignSchema),
});

export const get = defineProcedure({
  operationId: "campaigns.get",
  summary: "One campaign with its live stats",
  tags: ["campaigns"],
  rest: { method: "GET", path: "/campaigns/{campaignId}" },
  auth: { accepts, role: "VIEWER" },
  input: z.object({ campaignId }),
  output: campaignSchema,
});

export const update = defineProcedure({
  operationId: "campaigns.update",
  summary: "Edit a draft or scheduled campaign (409 once it has started)",
  tags: ["campaigns"],
  rest: { method: "PATCH", path: "/campaigns/{campaignId}" },
  auth: { accepts, role: "MEMBER" },
  input: z.strictObject({
    campaignId,
    name: nameSchema.optional(),
    content: campaignContentSchema.optional(),
    segment: campaignSegmentSchema.optional(),
    schedule: campaignScheduleSchema.optional().meta({ description: "Replaces the schedule; `immediate` starts sending at once" }),
    utm: utmSchema.nullable().optional().meta({ description: "null removes the UTM parameters" }),
    ttl: ttlSchema.nullable().optional(),
    urgency: urgencySchema.nullable().optional(),
  }),
  output: campaignSchema,
});

export const remove = defineProcedure({
  operationId: "campaigns.delete",
  summary: "Delete a draft or scheduled campaign (409 once it has started: cancel it instead)",
  tags: ["campaigns"],
  rest: { method: "DELETE", path: "/campaigns/{campaignId}" },
  auth: { accepts, role: "MEMBER" },
  input: z.object({ campaignId }),
  output: deletedSchema,
});

const action = (verb: "send" | "pause" | "resume" | "cancel", summary: string) =>
  defineProcedure({
    operationId: `campaigns.${verb}`,
    summary,
    tags: ["campaigns"],
    rest: { method: "POST", path: `/campaigns/{campaignId}/${verb}` },
    auth: { accepts, role: "MEMBER" },
    input: z.object({ campaignId }),
    output: campaignSchema,
  });

export const sendNow = action("send", "Start sending a draft or scheduled campaign now");
export const pause = action("pause", "Pause a sending campaign (takes effect within seconds); pausing a paused campaign changes nothing");
export const resume = action("resume", "Resume a paused campaign where it stopped");
export const cancel = action("cancel", "Cancel a campaign that has not finished: recipients not sent yet are skipped (reason campaign_cancelled)");

export const messages = defineProcedure({
  operationId: "campaigns.messages",
  summary: "Per-recipient results of a campaign, in fan-out order",
  tags: ["campaigns"],
  rest: { method: "GET", path: "/campaigns/{campaignId}/messages" },
  auth: { accepts, role: "VIEWER" },
  input: z.object({ campaignId, status: campaignMessageSchema.shape.status.optional(), ...paginationInput }),
  output: page(campaignMessageSchema),
});

/** The CSV export's columns, in order (one row per recipient). */
export const CAMPAIGN_EXPORT_COLUMNS = [
  "messageId",
  "subscriberId",
  "externalId",
  "status",
  "reason",
  "pushStatus",
  "createdAt",
  "completedAt",
  "displayedAt",
  "clickedAt",
] as const;

export const exportCsv = defineProcedure({
  operationId: "campaigns.export",
  summary: "Download a campaign's per-recipient results as CSV",
  description:
    `Streamed (chunked) in fan-out order, one row per recipient, whatever the campaign's size. Columns: ${CAMPAIGN_EXPORT_COLUMNS.join(", ")}. ` +
    "RFC 4180 quoting; a cell starting with `=`, `+`, `-` or `@` gets a leading `'` so spreadsheets do not run it as a formula.",
  tags: ["campaigns"],
  rest: { method: "GET", path: "/campaigns/{campaignId}/export" },
  auth: { accepts, role: "VIEWER" },
  produces: "text/csv",
  input: z.object({ campaignId }),
  output: z.string().meta({ description: "CSV with a header row", example: `${CAMPAIGN_EXPORT_COLUMNS.join(",")}\r\n` }),
});

export const progress = defineSubscription({
  operationId: "campaigns.progress",
  summary: "Live progress of a campaign (tRPC subscription over SSE): the campaign with its stats now, then whenever its status or stats change; ends once it is sent or cancelled",
  tags: ["campaigns"],
  auth: { accepts, role: "VIEWER" },
  input: z.object({ campaignId }),
  output: campaignSchema,
});

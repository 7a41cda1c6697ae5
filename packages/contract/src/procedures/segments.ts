import { z } from "zod";
import { defineProcedure } from "../define";
import { citySchema, countrySchema, externalIdSchema, languageSchema, tagSchema } from "../resources";
import { deletedSchema, idOf, nameSchema, page, paginationInput, text, timestamp } from "../schemas";

// Segments (SPEC §8): a saved filter over one project's active subscribers, evaluated when used.
// Read by VIEWER and up (the count is a read too), written by MEMBER and up, or by an API key on its
// own project. Order matters: trpc-to-openapi matches first-declared-wins, so `/segments/count`
// comes before `/segments/{segmentId}`.

const projectId = idOf("proj_");
const segmentId = idOf("seg_");
const accepts = ["apiKey", "member", "tenant", "partnerTenant"] as const;

export const SEGMENT_PLATFORMS = ["desktop", "mobile", "tablet"] as const;
export const MAX_SEGMENT_EXTERNAL_IDS = 1_000;
/** Cap of every other list of a filter: enough for any real audience, small enough to stay one cheap query. */
export const MAX_SEGMENT_LIST = 100;

/** A non-empty list ("any of"): an empty list would select nobody or everybody depending on how it is read, so it is refused. */
const anyOf = <T extends z.ZodType>(item: T, max = MAX_SEGMENT_LIST) => z.array(item).min(1, "Must not be empty: leave the field out instead").max(max);

/** A date (`2026-01-31`, midnight UTC) or a date-time with offset; stored as the canonical UTC ISO string. */
const isoDateOnly = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });
const isoDate = text()
  .refine((v) => isoDateOnly.safeParse(v).success || isoDateTime.safeParse(v).success, "Must be an ISO 8601 date (2026-01-31) or date-time (2026-01-31T08:00:00Z)")
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00.000Z` : v).toISOString())
  .meta({ example: "2026-01-31T00:00:00.000Z" });

const uaName = text().trim().min(1).max(100);

/**
 * The filters of a segment: every field optional, AND across fields, a list means "any of" within its
 * field. Unknown fields are refused (a typo would silently widen the audience).
 */
export const segmentFiltersSchema = z
  .strictObject({
    platform: anyOf(z.enum(SEGMENT_PLATFORMS), SEGMENT_PLATFORMS.length).optional().meta({ description: "Device type from the user agent" }),
    country: anyOf(countrySchema, 250).optional().meta({ description: "ISO 3166-1 alpha-2 codes (case-insensitive on input, stored uppercase)" }),
    city: anyOf(citySchema).optional().meta({ description: "City names, compared case-insensitively (ASCII letters)" }),
    browser: anyOf(uaName).optional().meta({ description: "Browser names as the user agent gives them (e.g. Chrome), compared case-insensitively" }),
    os: anyOf(uaName).optional().meta({ description: "Operating systems (e.g. Mac OS, iOS), compared case-insensitively" }),
    language: anyOf(languageSchema)
      .optional()
      .meta({ description: "BCP 47 tags; a tag also matches its more specific forms (`en` matches `en-US`), case-insensitively" }),
    tags: anyOf(tagSchema).optional().meta({ description: "Subscribers with at least one of these tags" }),
    excludeTags: anyOf(tagSchema).optional().meta({ description: "Subscribers with none of these tags" }),
    externalIds: anyOf(externalIdSchema, MAX_SEGMENT_EXTERNAL_IDS).optional().meta({ description: `Your user ids (at most ${MAX_SEGMENT_EXTERNAL_IDS})` }),
    lastSeenDays: z.number().int().min(1).max(3650).optional().meta({ description: "Seen (registered, identified or tagged) within the last N days" }),
    subscribedAfter: isoDate.optional().meta({ description: "Subscribed at or after this instant (a date means midnight UTC)" }),
    subscribedBefore: isoDate.optional().meta({ description: "Subscribed strictly before this instant (a date means midnight UTC)" }),
  })
  .refine((f) => f.subscribedAfter === undefined || f.subscribedBefore === undefined || f.subscribedAfter < f.subscribedBefore, {
    message: "Must be later than subscribedAfter",
    path: ["subscribedBefore"],
  })
  .meta({ description: "All fields optional; AND across fields, any of within a list. Only active subscribers are ever in an audience." });
export type SegmentFilters = z.output<typeof segmentFiltersSchema>;

/** The filters as stored and returned (already canonical). */
const stringList = z.array(z.string()).optional();
export const segmentFiltersOutputSchema = z.object({
  platform: z.array(z.enum(SEGMENT_PLATFORMS)).optional(),
  country: stringList,
  city: stringList,
  browser: stringList,
  os: stringList,
  language: stringList,
  tags: stringList,
  excludeTags: stringList,
  externalIds: stringList,
  lastSeenDays: z.number().int().optional(),
  subscribedAfter: timestamp.optional(),
  subscribedBefore: timestamp.optional(),
});

export const segmentSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  filters: segmentFiltersOutputSchema,
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const create = defineProcedure({
  operationId: "segments.create",
  summary: "Save a segment: a named filter over a project's subscribers, evaluated whenever it is used",
  tags: ["segments"],
  rest: { method: "POST", path: "/segments" },
  auth: { accepts, role: "MEMBER" },
  successStatus: 201,
  input: z.object({ projectId, name: nameSchema, filters: segmentFiltersSchema }),
  output: segmentSchema,
});

export const list = defineProcedure({
  operationId: "segments.list",
  summary: "Saved segments, oldest first: of one project, or of every project in scope when projectId is omitted",
  tags: ["segments"],
  rest: { method: "GET", path: "/segments" },
  auth: { accepts, role: "VIEWER" },
  input: z.object({
    projectId: projectId.optional().meta({ description: "Only this project's segments; when omitted, every project of the organization (an API key: its own project)" }),
    ...paginationInput,
  }),
  output: page(segmentSchema),
});

export const count = defineProcedure({
  operationId: "segments.count",
  summary: "Live reach estimate: how many active subscribers of the project match the filters (or a saved segment), out of all its active ones",
  tags: ["segments"],
  rest: { method: "POST", path: "/segments/count" },
  auth: { accepts, role: "VIEWER" },
  exactlyOneOf: ["filters", "savedSegmentId"],
  input: z
    .object({
      projectId,
      filters: segmentFiltersSchema.optional(),
      savedSegmentId: segmentId.optional().meta({ description: "A saved segment of the same project" }),
    })
    .refine((v) => (v.filters === undefined) !== (v.savedSegmentId === undefined), { message: "Give exactly one of filters or savedSegmentId", path: ["filters"] }),
  output: z.object({
    count: z.number().int().meta({ description: "Active subscribers that match" }),
    total: z.number().int().meta({ description: "Active subscribers of the project" }),
  }),
});

export const get = defineProcedure({
  operationId: "segments.get",
  summary: "Read one saved segment",
  tags: ["segments"],
  rest: { method: "GET", path: "/segments/{segmentId}" },
  auth: { accepts, role: "VIEWER" },
  input: z.object({ segmentId }),
  output: segmentSchema,
});

export const update = defineProcedure({
  operationId: "segments.update",
  summary: "Rename a segment or replace its filters",
  tags: ["segments"],
  rest: { method: "PATCH", path: "/segments/{segmentId}" },
  auth: { accepts, role: "MEMBER" },
  input: z.object({
    segmentId,
    name: nameSchema.optional(),
    filters: segmentFiltersSchema.optional().meta({ description: "Replaces the filters as a whole" }),
  }),
  output: segmentSchema,
});

export const remove = defineProcedure({
  operationId: "segments.delete",
  summary: "Delete a saved segment",
  tags: ["segments"],
  rest: { method: "DELETE", path: "/segments/{segmentId}" },
  auth: { accepts, role: "MEMBER" },
  input: z.object({ segmentId }),
  output: deletedSchema,
});

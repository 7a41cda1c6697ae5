import type { CAMPAIGN_REASONS, CampaignContent, SegmentFilters } from "@reachbell/contract";
import { type CampaignStatus, type CampaignsTable, type DB, type MessagesTable, newId } from "@reachbell/db";
import { fitsPushLimit } from "@reachbell/push";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely, Transaction } from "kysely";
import type { Scope } from "../auth/principal";
import { largestPayloadBytes } from "../campaigns/content";
import { markSending } from "../campaigns/start";
import type { Deps } from "../context";
import { DomainError } from "../errors";
import { isValidWallTime, wallTimeToUtc } from "../local-time";
import { decodeCursor, encodeCursor, paginate } from "../pagination";

// Campaigns (SPEC §8): the lifecycle requested over the API, reads and stats. The fan-out itself is
// the engine's (campaigns/engine.ts), reached through `deps.fanout`. Every query is scoped like
// segments: an API key sees its one project, an org principal its organization's projects.
//
// Status changes are race-safe without row locks: each is one conditional UPDATE (`WHERE status IN
// (...)`) whose row count decides, so a scheduler starting the campaign on another instance at the
// same moment makes exactly one of the two win. On PostgreSQL that UPDATE also locks the row until
// the transaction commits, so what follows it (markSending, skipping queued rows) sees no interleaving.

type Utm = { source: string; medium: string; campaign: string };
type Mode = "immediate" | "scheduled" | "draft";
type Urgency = "very-low" | "low" | "normal" | "high";
type Segment = { filters?: SegmentFilters | undefined; savedSegmentId?: string | undefined };
interface Schedule {
  mode: Mode;
  sendAt?: string | undefined;
  timezone?: string | undefined;
}

const EDITABLE: CampaignStatus[] = ["draft", "scheduled"];
const CANCELLABLE: CampaignStatus[] = ["draft", "scheduled", "sending", "paused"];

export interface CampaignStats {
  audience: number;
  queued: number;
  sent: number;
  delivered: number;
  failed: number;
  expired: number;
  skipped: number;
  simulated: number;
  displayed: number;
  clicked: number;
}

const emptyStats = (): CampaignStats => ({ audience: 0, queued: 0, sent: 0, delivered: 0, failed: 0, expired: 0, skipped: 0, simulated: 0, displayed: 0, clicked: 0 });

function scoped(db: Kysely<DB>, scope: Scope) {
  const q = db.selectFrom("campaigns").selectAll("campaigns");
  if (scope.projectId !== undefined) return q.where("campaigns.projectId", "=", scope.projectId);
  return q.where((eb) => eb("campaigns.projectId", "in", eb.selectFrom("projects").select("projects.id").where("projects.organizationId", "=", scope.orgId)));
}

export function toCampaign(row: CampaignsTable, stats: CampaignStats) {
  return {
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    status: row.status,
    content: JSON.parse(row.content) as CampaignContent,
    segment: JSON.parse(row.segment) as { filters?: SegmentFilters; savedSegmentId?: string },
    schedule: { mode: row.scheduleMode, sendAt: row.sendAt, timezone: row.timezone },
    utm: row.utm === null ? null : (JSON.parse(row.utm) as Utm),
    ttl: row.ttl,
    urgency: row.urgency,
    stats,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
  };
}

/**
 * Stats of several campaigns in one grouped query over the (campaign_id, status, id) index. What the
 * engine's message rows mean here: queued = `queued` + `pending`; expired = `failed` with reason
 * `subscription_expired`, failed = the other `failed`; sent = delivered + failed + expired;
 * displayed/clicked = rows with displayed_at/clicked_at set.
 */
export async function statsOf(db: Kysely<DB>, campaignIds: string[]): Promise<Map<string, CampaignStats>> {
  const out = new Map(campaignIds.map((id) => [id, emptyStats()]));
  if (campaignIds.length === 0) return out;
  const rows = await db
    .selectFrom("messages")
    .select((eb) => [
      "campaignId",
      "status",
      "reason",
      eb.fn.countAll().as("n"),
      eb.fn.count("displayedAt").as("displayed"),
      eb.fn.count("clickedAt").as("clicked"),
    ])
    .where("campaignId", "in", campaignIds)
    .groupBy(["campaignId", "status", "reason"])
    .execute();
  for (const r of rows) {
    const s = out.get(r.campaignId ?? "");
    if (!s) continue;
    // pg answers count() as a string (bigint), SQLite as a number.
    const n = Number(r.n);
    s.audience += n;
    s.displayed += Number(r.displayed);
    s.clicked += Number(r.clicked);
    switch (r.status) {
      case "queued":
      case "pending":
        s.queued += n;
        break;
      case "delivered":
        s.delivered += n;
        break;
      case "failed":
        if (r.reason === "subscription_expired") s.expired += n;
        else s.failed += n;
        break;
      case "skipped":
        s.skipped += n;
        break;
      case "simulated":
        s.simulated += n;
        break;
    }
  }
  for (const s of out.values()) s.sent = s.delivered + s.failed + s.expired;
  return out;
}

async function findRow(db: Kysely<DB>, scope: Scope, campaignId: string): Promise<CampaignsTable> {
  const row = await scoped(db, scope).where("campaigns.id", "=", campaignId).executeTakeFirst();
  if (!row) throw new DomainError("CAMPAIGN_NOT_FOUND");
  return row;
}

async function withStats(db: Kysely<DB>, row: CampaignsTable) {
  return toCampaign(row, (await statsOf(db, [row.id])).get(row.id)!);
}

const invalid = (path: string, message: string) => new DomainError("VALIDATION", { extra: { errors: [{ path, message }] } });

const SEND_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * `sendAt` as a UTC instant: with an offset (or Z) it is that instant; without, a wall time read in
 * `zone`. A date that does not exist (30 February) is refused rather than rolled over.
 */
export function parseSendAt(sendAt: string, zone: string): Date {
  const m = SEND_AT.exec(sendAt);
  if (!m) throw invalid("schedule.sendAt", "Must be an ISO 8601 date-time, with an offset or local to `timezone`");
  const wall = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? 0),
    millisecond: Number((m[7] ?? "0").padEnd(3, "0")),
  };
  if (!isValidWallTime(wall)) throw invalid("schedule.sendAt", "Not a real date and time");
  const offset = m[8];
  if (offset === undefined) return wallTimeToUtc(wall, zone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond);
  if (offset === "Z") return new Date(asUtc);
  const sign = offset[0] === "-" ? -1 : 1;
  const [oh, om] = offset.slice(1).split(":").map(Number) as [number, number];
  if (oh > 23 || om > 59) throw invalid("schedule.sendAt", "Not a valid UTC offset");
  return new Date(asUtc - sign * (oh * 60 + om) * 60_000);
}

/** The schedule columns; a `sendAt` not in the future is refused (422 naming it). */
function scheduleColumns(schedule: Schedule, projectTimezone: string, now: Date) {
  if (schedule.mode !== "scheduled" || schedule.sendAt === undefined) {
    return { scheduleMode: schedule.mode, sendAt: null, timezone: schedule.timezone ?? null };
  }
  const zone = schedule.timezone ?? projectTimezone;
  const at = parseSendAt(schedule.sendAt, zone);
  if (at.getTime() <= now.getTime()) throw invalid("schedule.sendAt", `Must be in the future (it is ${at.toISOString()} in UTC)`);
  return { scheduleMode: schedule.mode, sendAt: at.toISOString(), timezone: zone };
}

/** The stored segment and the filters it stands for now; a saved segment must be of the same project. */
async function resolveSegment(db: Kysely<DB> | Transaction<DB>, projectId: string, segment: Segment) {
  if (segment.savedSegmentId !== undefined) {
    const saved = await db.selectFrom("segments").select("filters").where("id", "=", segment.savedSegmentId).where("projectId", "=", projectId).executeTakeFirst();
    if (!saved) throw new DomainError("SEGMENT_NOT_FOUND");
    return { segment: JSON.stringify({ savedSegmentId: segment.savedSegmentId }), audienceFilters: saved.filters };
  }
  const filters = segment.filters ?? {};
  return { segment: JSON.stringify({ filters }), audienceFilters: JSON.stringify(filters) };
}

/** Same check as a transactional send, before anything is written: the largest payload must fit. */
function checkSize(content: CampaignContent, utm: Utm | null): void {
  if (!fitsPushLimit(largestPayloadBytes(content, utm))) throw new DomainError("PUSH_PAYLOAD_TOO_LARGE");
}

async function projectTimezone(db: Kysely<DB>, projectId: string): Promise<string> {
  const p = await db.selectFrom("projects").select("timezone").where("id", "=", projectId).executeTakeFirstOrThrow();
  return p.timezone;
}

export interface CreateInput {
  projectId: string;
  name: string;
  content: CampaignContent;
  segment: Segment;
  schedule: Schedule;
  utm?: Utm | undefined;
  ttl?: number | undefined;
  urgency?: Urgency | undefined;
}

export async function create(deps: Deps, _scope: Scope, input: CreateInput) {
  const db = deps.database.db;
  const now = deps.clock();
  const utm = input.utm ?? null;
  checkSize(input.content, utm);
  const schedule = scheduleColumns(input.schedule, await projectTimezone(db, input.projectId), now);
  const { segment, audienceFilters } = await resolveSegment(db, input.projectId, input.segment);
  const iso = now.toISOString();
  const row: CampaignsTable = {
    id: newId("cmp"),
    projectId: input.projectId,
    name: input.name,
    status: input.schedule.mode === "scheduled" ? "scheduled" : "draft",
    content: JSON.stringify(input.content),
    segment,
    audienceFilters,
    ...schedule,
    utm: utm === null ? null : JSON.stringify(utm),
    ttl: input.ttl ?? null,
    urgency: input.urgency ?? null,
    cursor: null,
    audienceDone: 0,
    audienceCount: 0,
    createdAt: iso,
    updatedAt: iso,
    startedAt: null,
    completedAt: null,
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto("campaigns").values(row).execute();
    if (input.schedule.mode === "immediate") await markSending(deps, trx, row.id, now);
  });
  if (input.schedule.mode === "immediate") deps.fanout.changed(row.id);
  return withStats(db, await db.selectFrom("campaigns").selectAll().where("id", "=", row.id).executeTakeFirstOrThrow());
}

export async function list(
  deps: Deps,
  scope: Scope,
  input: { projectId?: string | undefined; status?: CampaignStatus | undefined; limit?: number | undefined; cursor?: string | undefined },
) {
  const db = deps.database.db;
  let q = scoped(db, scope);
  if (input.projectId !== undefined) q = q.where("campaigns.projectId", "=", input.projectId);
  if (input.status !== undefined) q = q.where("campaigns.status", "=", input.status);
  // Newest first: keyset on the time-ordered id, descending.
  const limit = input.limit ?? 50;
  const before = decodeCursor(input.cursor);
  if (before) q = q.where("campaigns.id", "<", before);
  const rows = await q.orderBy("campaigns.id", "desc").limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const stats = await statsOf(db, page.map((r) => r.id));
  return { data: page.map((r) => toCampaign(r, stats.get(r.id)!)), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
}

export async function get(deps: Deps, scope: Scope, campaignId: string) {
  const db = deps.database.db;
  return withStats(db, await findRow(db, scope, campaignId));
}

export interface UpdateInput {
  campaignId: string;
  name?: string | undefined;
  content?: CampaignContent | undefined;
  segment?: Segment | undefined;
  schedule?: Schedule | undefined;
  utm?: Utm | null | undefined;
  ttl?: number | null | undefined;
  urgency?: Urgency | null | undefined;
}

/** Why a conditional status change touched no row: the campaign is gone (404) or in another status (`code`). */
async function refusal(db: Kysely<DB> | Transaction<DB>, campaignId: string, code: "CAMPAIGN_NOT_EDITABLE" | "CAMPAIGN_WRONG_STATUS"): Promise<DomainError> {
  const row = await db.selectFrom("campaigns").select("status").where("id", "=", campaignId).executeTakeFirst();
  return new DomainError(row ? code : "CAMPAIGN_NOT_FOUND");
}

export async function update(deps: Deps, scope: Scope, input: UpdateInput) {
  const db = deps.database.db;
  const row = await findRow(db, scope, input.campaignId);
  if (!EDITABLE.includes(row.status)) throw new DomainError("CAMPAIGN_NOT_EDITABLE");
  const now = deps.clock();
  const changes: Partial<CampaignsTable> = { updatedAt: now.toISOString() };
  if (input.name !== undefined) changes.name = input.name;
  const content = input.content ?? (JSON.parse(row.content) as CampaignContent);
  const utm = input.utm !== undefined ? input.utm : row.utm === null ? null : (JSON.parse(row.utm) as Utm);
  if (input.content !== undefined || input.utm !== undefined) {
    checkSize(content, utm);
    changes.content = JSON.stringify(content);
    changes.utm = utm === null ? null : JSON.stringify(utm);
  }
  if (input.segment !== undefined) Object.assign(changes, await resolveSegment(db, row.projectId, input.segment));
  if (input.ttl !== undefined) changes.ttl = input.ttl;
  if (input.urgency !== undefined) changes.urgency = input.urgency;
  const mode = input.schedule?.mode;
  if (input.schedule !== undefined) {
    Object.assign(changes, scheduleColumns(input.schedule, await projectTimezone(db, row.projectId), now));
    changes.status = mode === "scheduled" ? "scheduled" : "draft";
  }
  await db.transaction().execute(async (trx) => {
    const res = await trx.updateTable("campaigns").set(changes).where("id", "=", row.id).where("status", "in", EDITABLE).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw await refusal(trx, row.id, "CAMPAIGN_NOT_EDITABLE");
    if (mode === "immediate") await markSending(deps, trx, row.id, now);
  });
  if (changes.status !== undefined && changes.status !== row.status) deps.fanout.changed(row.id);
  else if (mode === "immediate") deps.fanout.changed(row.id);
  return get(deps, scope, row.id);
}

export async function remove(deps: Deps, scope: Scope, campaignId: string) {
  const db = deps.database.db;
  const row = await findRow(db, scope, campaignId);
  const res = await db.deleteFrom("campaigns").where("id", "=", row.id).where("status", "in", EDITABLE).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw await refusal(db, row.id, "CAMPAIGN_NOT_EDITABLE");
  // A scheduled campaign may have been armed by the engine: tell it the campaign is gone.
  deps.fanout.changed(row.id);
  return { id: row.id, deleted: true as const };
}

/**
 * Moves the campaign from one of `from` to `sending` (send now, resume): the conditional UPDATE
 * claims the transition, then markSending freezes the audience and hands it to the fan-out.
 */
async function start(deps: Deps, scope: Scope, campaignId: string, from: CampaignStatus[]) {
  const db = deps.database.db;
  const row = await findRow(db, scope, campaignId);
  const now = deps.clock();
  await db.transaction().execute(async (trx) => {
    const res = await trx.updateTable("campaigns").set({ updatedAt: now.toISOString() }).where("id", "=", row.id).where("status", "in", from).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw await refusal(trx, row.id, "CAMPAIGN_WRONG_STATUS");
    await markSending(deps, trx, row.id, now);
  });
  deps.fanout.changed(row.id);
  return get(deps, scope, row.id);
}

export const sendNow = (deps: Deps, scope: Scope, campaignId: string) => start(deps, scope, campaignId, EDITABLE);
export const resume = (deps: Deps, scope: Scope, campaignId: string) => start(deps, scope, campaignId, ["paused"]);

/** sending → paused; a paused campaign is answered unchanged. */
export async function pause(deps: Deps, scope: Scope, campaignId: string) {
  const db = deps.database.db;
  const row = await findRow(db, scope, campaignId);
  const res = await db.updateTable("campaigns").set({ status: "paused", updatedAt: deps.clock().toISOString() }).where("id", "=", row.id).where("status", "=", "sending").executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) {
    const now = await findRow(db, scope, row.id);
    if (now.status !== "paused") throw new DomainError("CAMPAIGN_WRONG_STATUS");
    return withStats(db, now);
  }
  deps.fanout.changed(row.id);
  return get(deps, scope, row.id);
}

/**
 * Any unfinished status → cancelled, and in the same transaction every recipient not sent yet
 * (`queued`) becomes `skipped` / `campaign_cancelled`. A cancelled campaign is answered unchanged;
 * a sent one is 409.
 */
export async function cancel(deps: Deps, scope: Scope, campaignId: string) {
  const db = deps.database.db;
  const row = await findRow(db, scope, campaignId);
  const iso = deps.clock().toISOString();
  const cancelled = await db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable("campaigns")
      .set({ status: "cancelled", updatedAt: iso, completedAt: iso })
      .where("id", "=", row.id)
      .where("status", "in", CANCELLABLE)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await trx
      .updateTable("messages")
      .set({ status: "skipped", reason: "campaign_cancelled", completedAt: iso })
      .where("campaignId", "=", row.id)
      .where("status", "=", "queued")
      .execute();
    return true;
  });
  if (!cancelled) {
    const now = await findRow(db, scope, row.id);
    if (now.status !== "cancelled") throw new DomainError("CAMPAIGN_WRONG_STATUS");
    return withStats(db, now);
  }
  deps.fanout.changed(row.id);
  return get(deps, scope, row.id);
}

export function toCampaignMessage(row: MessagesTable) {
  return {
    id: row.id,
    subscriberId: row.subscriberId,
    status: row.status,
    reason: row.reason as (typeof CAMPAIGN_REASONS)[number] | null,
    pushStatus: row.pushStatus,
    attempts: JSON.parse(row.attempts) as { at: string; status: number | null; error: string | null; durationMs: number }[],
    notBefore: row.notBefore,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
    displayedAt: row.displayedAt,
    clickedAt: row.clickedAt,
  };
}

export async function messages(
  deps: Deps,
  scope: Scope,
  input: { campaignId: string; status?: MessagesTable["status"] | undefined; limit?: number | undefined; cursor?: string | undefined },
) {
  const db = deps.database.db;
  const row = await findRow(db, scope, input.campaignId);
  let q = db.selectFrom("messages").selectAll("messages").where("messages.campaignId", "=", row.id);
  if (input.status !== undefined) q = q.where("messages.status", "=", input.status);
  const { rows, nextCursor } = await paginate(q, "messages.id", input);
  return { data: rows.map(toCampaignMessage), nextCursor };
}

/** The campaign (scoped) or 404: for the export handler, before it starts streaming. */
export const findCampaign = (deps: Deps, scope: Scope, campaignId: string) => findRow(deps.database.db, scope, campaignId);

/** How often a progress subscription reads the campaign (one grouped stats query per read). */
export const PROGRESS_POLL_MS = 1000;

/**
 * Live progress (the dashboard's subscription): the campaign now, then again whenever its status or
 * stats change, polled every PROGRESS_POLL_MS; ends once the campaign is sent or cancelled, or when
 * `signal` aborts (the client went away).
 */
export async function* progress(deps: Deps, scope: Scope, campaignId: string, signal?: AbortSignal) {
  let last: string | undefined;
  while (!signal?.aborted) {
    const campaign = await get(deps, scope, campaignId);
    const key = JSON.stringify([campaign.status, campaign.stats]);
    if (key !== last) {
      last = key;
      yield campaign;
    }
    if (campaign.status === "sent" || campaign.status === "cancelled") return;
    try {
      await sleep(PROGRESS_POLL_MS, undefined, signal ? { signal } : {});
    } catch {
      return; // aborted
    }
  }
}

import { MAX_TAGS_PER_SUBSCRIBER } from "@reachbell/contract";
import { type DB, type Dialect, type SubscribersTable, newId, precompile } from "@reachbell/db";
import { checkEndpointUrl, isValidP256PublicKey } from "@reachbell/push";
import { type Kysely, sql } from "kysely";
import { verifyIdentityToken } from "../auth/identity-verification";
import type { Scope } from "../auth/principal";
import type { Deps } from "../context";
import { isUniqueViolation } from "../db-errors";
import { DomainError } from "../errors";
import { type GeoLocation, lookupGeoIp } from "../geoip";
import { toSubscriber } from "../mappers";
import { paginate } from "../pagination";
import { parseUserAgent } from "../user-agent";

// Every query goes through `scoped()`: an API key sees its one project, an organization principal
// the projects of its organization. Anything else is "Subscriber not found".

type Status = SubscribersTable["status"];

function scoped(db: Kysely<DB>, scope: Scope) {
  const q = db.selectFrom("subscribers").selectAll("subscribers");
  if (scope.projectId !== undefined) return q.where("subscribers.projectId", "=", scope.projectId);
  return q.where((eb) => eb("subscribers.projectId", "in", eb.selectFrom("projects").select("projects.id").where("projects.organizationId", "=", scope.orgId)));
}

/**
 * The subscriber's tags as a JSON array in the same query (reads are the hot path: one round trip
 * instead of two). SQLite answers JSON text, PostgreSQL a parsed array. Sorted in JS, so the order
 * is the same on both (code-unit order, whatever the database collation).
 */
function tagsJson(dialect: Dialect) {
  return dialect === "postgres"
    ? sql<string[] | string>`(select coalesce(json_agg(t.tag), '[]'::json) from subscriber_tags t where t.subscriber_id = subscribers.id)`
    : sql<string[] | string>`(select json_group_array(t.tag) from subscriber_tags t where t.subscriber_id = subscribers.id)`;
}

/** Subscribers in scope, each with its tags. */
function scopedWithTags(deps: Deps, scope: Scope) {
  return scoped(deps.database.db, scope).select(tagsJson(deps.database.dialect).as("tagList"));
}

function withTagList(row: SubscribersTable & { tagList: string[] | string }) {
  const { tagList, ...rest } = row;
  return toSubscriber(rest, (typeof tagList === "string" ? (JSON.parse(tagList) as string[]) : tagList).sort());
}

// The two hot queries (an API key reading one subscriber, registering one), compiled once per database.
const getInProject = precompile<{ projectId: string; id: string }, SubscribersTable & { tagList: string[] | string }>((db, p, dialect) =>
  (db as Kysely<DB>)
    .selectFrom("subscribers")
    .selectAll("subscribers")
    .select(tagsJson(dialect).as("tagList"))
    .where("subscribers.projectId", "=", p("projectId"))
    .where("subscribers.id", "=", p("id")),
);
// Every column (the type makes the list complete), so the insert writes exactly what `values(row)` did.
const SUBSCRIBER_COLUMNS = Object.keys({
  id: 1, projectId: 1, token: 1, endpoint: 1, p256dh: 1, auth: 1, externalId: 1, status: 1, userAgent: 1, browser: 1, os: 1, deviceType: 1, timezone: 1, language: 1, country: 1, city: 1, createdAt: 1, updatedAt: 1, lastSeenAt: 1,
} satisfies Record<keyof SubscribersTable, 1>) as (keyof SubscribersTable)[];
const insertSubscriber = precompile<SubscribersTable & Record<string, unknown>, never>((db, p) =>
  (db as Kysely<DB>).insertInto("subscribers").values(Object.fromEntries(SUBSCRIBER_COLUMNS.map((c) => [c, p(c)])) as unknown as SubscribersTable),
);

/** The API object of a row just written, with its tags read back. */
async function withTags(db: Kysely<DB>, row: SubscribersTable) {
  const tags = await db.selectFrom("subscriberTags").select("tag").where("subscriberId", "=", row.id).execute();
  return toSubscriber(row, tags.map((t) => t.tag).sort());
}

function notFound(): never {
  throw new DomainError("SUBSCRIBER_NOT_FOUND");
}

function invalid(errors: { path: string; message: string }[]): never {
  throw new DomainError("VALIDATION", { extra: { errors } });
}

export interface RegisterInput {
  projectId?: string | undefined;
  endpoint: string;
  /** Either p256dh and auth flat, or keys (PushSubscription.toJSON()); the contract allows exactly one. */
  p256dh?: string | undefined;
  auth?: string | undefined;
  keys?: { p256dh: string; auth: string } | undefined;
  /** PushSubscription.expirationTime: accepted and ignored (push services report expiry by 404/410). */
  expirationTime?: number | null | undefined;
  userAgent?: string | undefined;
  timezone?: string | undefined;
  language?: string | undefined;
  /** ISO alpha-2, uppercase (the contract normalises it); wins over geo-IP. */
  country?: string | undefined;
  city?: string | undefined;
}

/**
 * Where the subscriber is: what the client said wins; geo-IP fills the rest. A geo-IP city is only
 * kept when its country agrees with the one given (a city of another country would contradict it).
 */
async function locate(deps: Deps, input: { country?: string | undefined; city?: string | undefined }, ip: string | undefined): Promise<GeoLocation> {
  if (input.country !== undefined && input.city !== undefined) return { country: input.country, city: input.city };
  const geo = await lookupGeoIp(deps.config.geoip, ip, deps.logger);
  const country = input.country ?? geo?.country ?? null;
  const city = input.city ?? (geo && (input.country === undefined || geo.country === input.country) ? geo.city : null);
  return { country, city };
}

/**
 * Registers a subscription. One row per (project, endpoint), enforced by a unique index: the insert
 * goes first (one round trip in the common case); when it collides, the existing row decides:
 * active → 409 with it, unsubscribed/expired → reactivated with the new keys.
 */
export async function register(deps: Deps, scope: Scope, rawInput: RegisterInput, client: { ip?: string | undefined } = {}) {
  const projectId = rawInput.projectId ?? scope.projectId;
  if (!projectId) throw new Error("register needs an API key's project");
  const nested = rawInput.keys !== undefined;
  const p256dh = rawInput.keys?.p256dh ?? rawInput.p256dh;
  const auth = rawInput.keys?.auth ?? rawInput.auth;
  if (p256dh === undefined || auth === undefined) throw new Error("register: the contract lets no input through without keys");
  const input = { ...rawInput, p256dh, auth };
  const errors: { path: string; message: string }[] = [];
  const endpoint = checkEndpointUrl(input.endpoint, { allowInsecure: deps.config.pushAllowInsecureEndpoints });
  if (!endpoint.ok) errors.push({ path: "endpoint", message: endpoint.message });
  if (!isValidP256PublicKey(p256dh)) errors.push({ path: nested ? "keys.p256dh" : "p256dh", message: "Must be base64url of a 65-byte uncompressed P-256 point that lies on the curve" });
  if (errors.length > 0) invalid(errors);

  const db = deps.database.db;
  const agent = input.userAgent === undefined ? undefined : parseUserAgent(input.userAgent);
  const location = await locate(deps, input, client.ip);
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = deps.clock().toISOString();
    const row: SubscribersTable = {
      id: newId("sub"),
      projectId,
      token: newId("tok"),
      endpoint: input.endpoint,
      p256dh: input.p256dh,
      auth: input.auth,
      externalId: null,
      status: "active",
      userAgent: input.userAgent ?? null,
      browser: agent?.browser ?? null,
      os: agent?.os ?? null,
      deviceType: agent?.deviceType ?? null,
      timezone: input.timezone ?? null,
      language: input.language ?? null,
      country: location.country,
      city: location.city,
      createdAt: now,
      updatedAt: now,
      lastSeenAt: now,
    };
    try {
      // Concurrent registrations share one SQLite commit (see WriteBatcher).
      await insertSubscriber.runBatched(deps.database, row as SubscribersTable & Record<string, unknown>);
      return toSubscriber(row, []);
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
    const existing = await db.selectFrom("subscribers").selectAll().where("projectId", "=", projectId).where("endpoint", "=", input.endpoint).executeTakeFirst();
    if (!existing) continue; // deleted meanwhile (or a token collision): try again
    if (existing.status === "active") throw new DomainError("SUBSCRIBER_EXISTS", { extra: { subscriber: await withTags(db, existing) } });
    // Reactivate with the new keys; the status condition makes exactly one of several racing re-registrations win.
    const changes: Partial<SubscribersTable> = { status: "active", p256dh: input.p256dh, auth: input.auth, updatedAt: now, lastSeenAt: now };
    // Where it registers from now; an unknown location keeps the last known one.
    if (location.country !== null || location.city !== null) Object.assign(changes, location);
    if (input.userAgent !== undefined) Object.assign(changes, { userAgent: input.userAgent, ...agent });
    if (input.timezone !== undefined) changes.timezone = input.timezone;
    if (input.language !== undefined) changes.language = input.language;
    const res = await db.updateTable("subscribers").set(changes).where("id", "=", existing.id).where("status", "!=", "active").executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) return withTags(db, { ...existing, ...changes });
    // Someone else reactivated it first: the next round answers 409 with their row.
  }
  throw new Error("subscriber registration did not settle after 3 attempts");
}

/**
 * Attaches the user id. `verifyIdentity` (a publishable key's call) requires, when the project turned
 * identity verification on, the identityToken its backend computed for this externalId: 403 otherwise,
 * before anything is read or written.
 */
export async function identify(deps: Deps, scope: Scope, input: { token: string; externalId: string; identityToken?: string | undefined }, opts: { verifyIdentity?: boolean } = {}) {
  const db = deps.database.db;
  if (opts.verifyIdentity && scope.projectId !== undefined) await checkIdentityToken(deps, scope.projectId, input);
  const row = await scoped(db, scope).where("subscribers.token", "=", input.token).executeTakeFirst();
  if (!row) notFound();
  const updatedAt = deps.clock().toISOString();
  await db.updateTable("subscribers").set({ externalId: input.externalId, updatedAt, lastSeenAt: updatedAt }).where("id", "=", row.id).execute();
  return withTags(db, { ...row, externalId: input.externalId, updatedAt, lastSeenAt: updatedAt });
}

async function checkIdentityToken(deps: Deps, projectId: string, input: { externalId: string; identityToken?: string | undefined }): Promise<void> {
  const project = await deps.database.db.selectFrom("projects").select(["identityVerification", "identitySecretEnc"]).where("id", "=", projectId).executeTakeFirst();
  if (!project || project.identityVerification !== "on") return;
  if (input.identityToken === undefined || input.identityToken === "") throw new DomainError("IDENTITY_TOKEN_REQUIRED");
  // Verification is only turned on once a secret exists (projects.update); without one nothing matches.
  if (project.identitySecretEnc === null || !verifyIdentityToken(deps.secrets, projectId, project.identitySecretEnc, input.externalId, input.identityToken)) {
    throw new DomainError("IDENTITY_TOKEN_INVALID");
  }
}

/**
 * Adds and removes tags on the subscriber with `token`, or on every subscriber of `externalId`, in one
 * transaction: if any of them would end up with more than 100 tags, nothing changes (422). Removals
 * apply before additions. On PostgreSQL the subscriber rows are locked so concurrent calls cannot
 * both pass the limit; SQLite runs one write transaction at a time.
 */
export async function tags(deps: Deps, scope: Scope, input: { token?: string | undefined; externalId?: string | undefined; add?: string[] | undefined; remove?: string[] | undefined }) {
  const add = [...new Set(input.add ?? [])];
  const remove = [...new Set(input.remove ?? [])];
  const projectId = scope.projectId;
  if (!projectId) throw new Error("tags needs an API key's project");
  const now = deps.clock().toISOString();
  const db = deps.database.db;
  const ids = await db.transaction().execute(async (trx) => {
    let q = trx.selectFrom("subscribers").select("id").where("projectId", "=", projectId);
    q = input.token !== undefined ? q.where("token", "=", input.token) : q.where("externalId", "=", input.externalId ?? "");
    if (deps.database.dialect === "postgres") q = q.forUpdate();
    const ids = (await q.orderBy("id").execute()).map((r) => r.id);
    if (ids.length === 0) notFound();
    for (const chunk of chunks(ids, 500)) {
      if (remove.length > 0) await trx.deleteFrom("subscriberTags").where("subscriberId", "in", chunk).where("tag", "in", remove).execute();
    }
    if (add.length > 0) {
      const rows = ids.flatMap((subscriberId) => add.map((tag) => ({ subscriberId, projectId, tag })));
      for (const chunk of chunks(rows, 500)) {
        await trx.insertInto("subscriberTags").values(chunk).onConflict((oc) => oc.columns(["subscriberId", "tag"]).doNothing()).execute();
      }
      for (const chunk of chunks(ids, 500)) {
        const over = await trx
          .selectFrom("subscriberTags")
          .select(["subscriberId", (eb) => eb.fn.countAll<number>().as("n")])
          .where("subscriberId", "in", chunk)
          .groupBy("subscriberId")
          .having((eb) => eb.fn.countAll(), ">", MAX_TAGS_PER_SUBSCRIBER)
          .executeTakeFirst();
        if (over) {
          invalid([{ path: "add", message: `A subscriber can have at most ${MAX_TAGS_PER_SUBSCRIBER} tags (this would make ${Number(over.n)})` }]);
        }
      }
    }
    for (const chunk of chunks(ids, 500)) await trx.updateTable("subscribers").set({ updatedAt: now, lastSeenAt: now }).where("id", "in", chunk).execute();
    return ids;
  });
  const latest = await db.selectFrom("subscribers").selectAll().where("id", "=", ids[ids.length - 1]!).executeTakeFirst();
  if (!latest) notFound();
  return { ...(await withTags(db, latest)), matched: ids.length };
}

export async function list(
  deps: Deps,
  scope: Scope,
  input: { projectId: string; limit?: number | undefined; cursor?: string | undefined; status?: Status | undefined; tag?: string | undefined; externalId?: string | undefined },
) {
  let q = scopedWithTags(deps, scope).where("subscribers.projectId", "=", input.projectId);
  if (input.status !== undefined) q = q.where("subscribers.status", "=", input.status);
  if (input.externalId !== undefined) q = q.where("subscribers.externalId", "=", input.externalId);
  const tag = input.tag;
  if (tag !== undefined) {
    q = q.where((eb) =>
      eb.exists(eb.selectFrom("subscriberTags").select("subscriberTags.tag").whereRef("subscriberTags.subscriberId", "=", "subscribers.id").where("subscriberTags.tag", "=", tag)),
    );
  }
  const { rows, nextCursor } = await paginate(q, "subscribers.id", input);
  return { data: rows.map(withTagList), nextCursor };
}

export async function get(deps: Deps, scope: Scope, id: string) {
  const row =
    scope.projectId !== undefined
      ? (await getInProject.execute(deps.database, { projectId: scope.projectId, id }))[0]
      : await scopedWithTags(deps, scope).where("subscribers.id", "=", id).executeTakeFirst();
  if (!row) notFound();
  return withTagList(row);
}

/** Marks the subscriber unsubscribed (idempotent); it keeps its tags and externalId and can re-register. */
export async function unsubscribe(deps: Deps, scope: Scope, ref: { id: string } | { token: string }) {
  const db = deps.database.db;
  const q = scoped(db, scope);
  const row = await ("id" in ref ? q.where("subscribers.id", "=", ref.id) : q.where("subscribers.token", "=", ref.token)).executeTakeFirst();
  if (!row) notFound();
  if (row.status === "unsubscribed") return withTags(db, row);
  const updatedAt = deps.clock().toISOString();
  await db.updateTable("subscribers").set({ status: "unsubscribed", updatedAt }).where("id", "=", row.id).execute();
  return withTags(db, { ...row, status: "unsubscribed", updatedAt });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

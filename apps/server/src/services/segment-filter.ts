import type { SegmentFilters } from "@reachbell/contract";
import type { DB } from "@reachbell/db";
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";

// The one place segment filters become SQL (SPEC §8), the same on SQLite and PostgreSQL. Every
// audience (the reach count now, campaign fan-out later) goes through `audienceOf`, so only `active`
// subscribers of the project are ever in one.
//
// Case rules, chosen so both databases answer alike:
// - country: stored and filtered uppercase (the contract canonicalises both), plain equality (indexed).
// - platform: device types are stored lowercase by the user-agent parser; the contract's enum is too.
// - browser, os, city: `lower(column) = lower(value)` on both sides, never LIKE (LIKE is
//   case-insensitive in SQLite and case-sensitive in PostgreSQL). SQLite's lower() folds ASCII only,
//   so non-ASCII letters compare exactly on SQLite; values are compared through lower() on both sides so
//   a value always matches itself.
// - language: `en` matches `en` and `en-…`: lower(language) equals the tag, or its first
//   length+1 characters are the tag plus "-". A substring comparison, not LIKE, so no wildcard in a
//   value can ever widen the match and no escaping is needed.
// - tags / excludeTags: EXISTS / NOT EXISTS on subscriber_tags (exact, as tags are stored).
// - lastSeenDays: last_seen_at ≥ now − N days (a row without last_seen_at is not "seen").
// - subscribedAfter ≤ created_at < subscribedBefore (a half-open range: consecutive ranges never overlap).

type Eb = ExpressionBuilder<DB, "subscribers">;

const lower = (e: Expression<string | null>) => sql<string>`lower(${e})`;

function ciIn(eb: Eb, column: "subscribers.browser" | "subscribers.os" | "subscribers.city", values: readonly string[]): Expression<SqlBool> {
  return eb(
    lower(eb.ref(column)),
    "in",
    values.map((v) => lower(eb.val(v))),
  );
}

function languageMatch(eb: Eb, tags: readonly string[]): Expression<SqlBool> {
  const col = lower(eb.ref("subscribers.language"));
  return eb.or(
    tags.flatMap((tag) => [
      eb(col, "=", lower(eb.val(tag))),
      eb(sql<string>`substr(${col}, 1, ${tag.length + 1})`, "=", lower(eb.val(`${tag}-`))),
    ]),
  );
}

function hasAnyTag(eb: Eb, tags: readonly string[]): Expression<SqlBool> {
  return eb.exists(
    eb
      .selectFrom("subscriberTags")
      .select("subscriberTags.tag")
      .whereRef("subscriberTags.subscriberId", "=", "subscribers.id")
      .where("subscriberTags.tag", "in", tags),
  );
}

/** The filters as one boolean expression over `subscribers` (true when there is none). `now` anchors lastSeenDays. */
export function compileSegmentFilters(eb: Eb, f: SegmentFilters, now: Date): Expression<SqlBool> {
  const conds: Expression<SqlBool>[] = [];
  if (f.platform) conds.push(eb("subscribers.deviceType", "in", f.platform));
  if (f.country) conds.push(eb("subscribers.country", "in", f.country));
  if (f.city) conds.push(ciIn(eb, "subscribers.city", f.city));
  if (f.browser) conds.push(ciIn(eb, "subscribers.browser", f.browser));
  if (f.os) conds.push(ciIn(eb, "subscribers.os", f.os));
  if (f.language) conds.push(languageMatch(eb, f.language));
  if (f.tags) conds.push(hasAnyTag(eb, f.tags));
  if (f.excludeTags) conds.push(eb.not(hasAnyTag(eb, f.excludeTags)));
  if (f.externalIds) conds.push(eb("subscribers.externalId", "in", f.externalIds));
  if (f.lastSeenDays !== undefined) conds.push(eb("subscribers.lastSeenAt", ">=", new Date(now.getTime() - f.lastSeenDays * 86_400_000).toISOString()));
  if (f.subscribedAfter !== undefined) conds.push(eb("subscribers.createdAt", ">=", f.subscribedAfter));
  if (f.subscribedBefore !== undefined) conds.push(eb("subscribers.createdAt", "<", f.subscribedBefore));
  return eb.and(conds);
}

/** The audience of `filters` in one project: its active subscribers that match. */
export function audienceWhere(projectId: string, filters: SegmentFilters, now: Date) {
  return (eb: Eb) => eb.and([eb("subscribers.projectId", "=", projectId), eb("subscribers.status", "=", "active"), compileSegmentFilters(eb, filters, now)]);
}

import { randomBytes } from "node:crypto";
import { newId } from "@reachbell/db";
import { beforeAll, expect, it } from "vitest";
import { createProject, partnerWithTenant, projectWithKey } from "./project-fixtures";
import { type Account, type TestServer, call, describeEachDb, registerAccount } from "./support";

// Segments (SPEC §8): saved filters and the live reach count. The audience is seeded through the
// database handle (exact createdAt, lastSeenAt, country, city, status), and every count is checked
// against an expectation worked out by hand from the table below.

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();

interface Seed {
  status: "active" | "unsubscribed" | "expired";
  deviceType: string | null;
  country: string | null;
  city: string | null;
  browser: string | null;
  os: string | null;
  language: string | null;
  tags: string[];
  externalId: string | null;
  lastSeenAt: string | null;
  createdAt: string;
}

/** s1…s6 are active; x7 (unsubscribed) and x8 (expired) match nearly everything and must never count. */
const SEEDS: Record<string, Seed> = {
  s1: { status: "active", deviceType: "desktop", country: "FR", city: "Paris", browser: "Chrome", os: "Mac OS", language: "en-US", tags: ["vip", "news"], externalId: "u1", lastSeenAt: daysAgo(1), createdAt: "2026-01-10T08:00:00.000Z" },
  s2: { status: "active", deviceType: "mobile", country: "US", city: "New York", browser: "Mobile Safari", os: "iOS", language: "en", tags: ["news"], externalId: "u2", lastSeenAt: daysAgo(10), createdAt: "2026-02-15T12:00:00.000Z" },
  s3: { status: "active", deviceType: "tablet", country: "DE", city: "Berlin", browser: "Firefox", os: "Android", language: "de-DE", tags: [], externalId: null, lastSeenAt: daysAgo(40), createdAt: "2026-03-20T00:00:00.000Z" },
  s4: { status: "active", deviceType: "desktop", country: "US", city: "PARIS", browser: "chrome", os: "Windows", language: "fr-FR", tags: ["vip"], externalId: "u4", lastSeenAt: daysAgo(2), createdAt: "2026-01-31T23:59:59.999Z" },
  // `enq` starts with "en" but is another language: `en` must not match it.
  s5: { status: "active", deviceType: "mobile", country: "FR", city: "Lyon", browser: "CHROME", os: "Android", language: "enq", tags: ["spam"], externalId: "u5", lastSeenAt: daysAgo(5), createdAt: "2026-02-01T00:00:00.000Z" },
  s6: { status: "active", deviceType: null, country: null, city: null, browser: null, os: null, language: null, tags: [], externalId: null, lastSeenAt: null, createdAt: "2026-04-01T00:00:00.000Z" },
  x7: { status: "unsubscribed", deviceType: "desktop", country: "FR", city: "Paris", browser: "Chrome", os: "Mac OS", language: "en-US", tags: ["vip"], externalId: "u1", lastSeenAt: daysAgo(1), createdAt: "2026-01-10T08:00:00.000Z" },
  x8: { status: "expired", deviceType: "mobile", country: "US", city: "New York", browser: "Chrome", os: "iOS", language: "en", tags: ["news"], externalId: "u2", lastSeenAt: daysAgo(1), createdAt: "2026-02-15T12:00:00.000Z" },
};

async function seed(server: TestServer, projectId: string, seeds: Record<string, Seed>) {
  const db = server.database.db;
  for (const [key, s] of Object.entries(seeds)) {
    const id = newId("sub");
    const { tags, ...cols } = s;
    await db
      .insertInto("subscribers")
      .values({
        id,
        projectId,
        token: newId("tok"),
        endpoint: `https://push.example/${key}-${randomBytes(6).toString("hex")}`,
        p256dh: "x",
        auth: "x",
        userAgent: null,
        timezone: null,
        updatedAt: s.createdAt,
        ...cols,
      })
      .execute();
    for (const tag of tags) await db.insertInto("subscriberTags").values({ subscriberId: id, projectId, tag }).execute();
  }
}

/** Each filter on its own and combined → the active subscribers it selects, by hand from SEEDS. */
const CASES: [string, Record<string, unknown>, string[]][] = [
  ["no filter: every active subscriber", {}, ["s1", "s2", "s3", "s4", "s5", "s6"]],
  ["platform desktop", { platform: ["desktop"] }, ["s1", "s4"]],
  ["platform mobile or tablet", { platform: ["mobile", "tablet"] }, ["s2", "s3", "s5"]],
  ["country given lowercase", { country: ["fr"] }, ["s1", "s5"]],
  ["country any of", { country: ["US", "DE"] }, ["s2", "s3", "s4"]],
  ["city, case-insensitive", { city: ["paris"] }, ["s1", "s4"]],
  ["browser, case-insensitive on both sides", { browser: ["chrome"] }, ["s1", "s4", "s5"]],
  ["browser exact name, no substring", { browser: ["Safari"] }, []],
  ["os any of", { os: ["ios", "ANDROID"] }, ["s2", "s3", "s5"]],
  ["language en matches en and en-US, not enq", { language: ["en"] }, ["s1", "s2"]],
  ["language en-us (canonicalised) matches only en-US", { language: ["en-us"] }, ["s1"]],
  ["language any of", { language: ["fr", "de"] }, ["s3", "s4"]],
  ["tags: has any of", { tags: ["vip"] }, ["s1", "s4"]],
  ["tags: has any of (two)", { tags: ["vip", "spam"] }, ["s1", "s4", "s5"]],
  ["excludeTags: has none of (untagged included)", { excludeTags: ["vip"] }, ["s2", "s3", "s5", "s6"]],
  ["externalIds (unknown ids ignored)", { externalIds: ["u1", "u5", "nobody"] }, ["s1", "s5"]],
  ["lastSeenDays 7 (never seen excluded)", { lastSeenDays: 7 }, ["s1", "s4", "s5"]],
  ["lastSeenDays 30", { lastSeenDays: 30 }, ["s1", "s2", "s4", "s5"]],
  ["subscribedAfter a date: midnight UTC, inclusive", { subscribedAfter: "2026-02-01" }, ["s2", "s3", "s5", "s6"]],
  ["subscribedBefore a date: exclusive", { subscribedBefore: "2026-02-01" }, ["s1", "s4"]],
  ["subscribed between, with an offset", { subscribedAfter: "2026-01-15T00:00:00Z", subscribedBefore: "2026-03-01T00:00:00+01:00" }, ["s2", "s4", "s5"]],
  ["combined: platform, country, tags, excludeTags", { platform: ["desktop", "mobile"], country: ["FR", "US"], tags: ["vip", "news"], excludeTags: ["spam"] }, ["s1", "s2", "s4"]],
  ["combined: browser, lastSeenDays, language", { browser: ["chrome"], lastSeenDays: 3, language: ["en", "fr"] }, ["s1", "s4"]],
  ["combined: country, platform, browser", { country: ["FR"], platform: ["mobile"], browser: ["Chrome"] }, ["s5"]],
  ["combined with nothing matching", { country: ["DE"], platform: ["desktop"] }, []],
];

describeEachDb("segments: reach count", (get) => {
  let owner: Account;
  let projectId: string;
  let apiKey: string;

  beforeAll(async () => {
    owner = await registerAccount(get(), "seg-count");
    ({ projectId, apiKey } = await projectWithKey(get(), owner));
    await seed(get(), projectId, SEEDS);
    // Another project of the same organization, with matching subscribers: never counted.
    const other = await createProject(get(), owner, { name: "Other" });
    await seed(get(), other.id, { s1: SEEDS.s1!, s2: SEEDS.s2! });
  });

  for (const [name, filters, expected] of CASES) {
    it(`${name} → ${expected.length}`, async () => {
      const res = await call(get(), "POST", "/segments/count", { token: owner.token, orgId: owner.orgId, body: { projectId, filters } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ count: expected.length, total: 6 });
    });
  }

  it("an API key counts on its own project, the same answer", async () => {
    const res = await call(get(), "POST", "/segments/count", { apiKey, body: { projectId, filters: { tags: ["vip"] } } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ count: 2, total: 6 });
  });

  it("tRPC answers the same count", async () => {
    const res = await call(get(), "POST", "/trpc/segments.count", { apiKey, body: { projectId, filters: { country: ["FR"] } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.result.data).toEqual({ count: 2, total: 6 });
  });

  it("a subscriber unsubscribing leaves the audience at once", async () => {
    const p = await projectWithKey(get(), owner, { name: "Churn" });
    await seed(get(), p.projectId, { a: SEEDS.s1!, b: SEEDS.s4! });
    const before = await call(get(), "POST", "/segments/count", { apiKey: p.apiKey, body: { projectId: p.projectId, filters: { tags: ["vip"] } } });
    expect(before.body).toEqual({ count: 2, total: 2 });
    const list = await call(get(), "GET", `/subscribers/project/${p.projectId}`, { apiKey: p.apiKey });
    await call(get(), "DELETE", `/subscribers/${list.body.data[0].id}`, { apiKey: p.apiKey });
    const after = await call(get(), "POST", "/segments/count", { apiKey: p.apiKey, body: { projectId: p.projectId, filters: { tags: ["vip"] } } });
    expect(after.body).toEqual({ count: 1, total: 1 });
  });
});

describeEachDb("segments: saved segments", (get) => {
  let owner: Account;
  let projectId: string;
  let apiKey: string;
  const auth = () => ({ token: owner.token, orgId: owner.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "seg-crud");
    ({ projectId, apiKey } = await projectWithKey(get(), owner));
    await seed(get(), projectId, SEEDS);
  });

  it("create (201), read, list, update, count by savedSegmentId, delete", async () => {
    const created = await call(get(), "POST", "/segments", {
      ...auth(),
      body: { projectId, name: "  French VIPs ", filters: { country: ["fr"], tags: ["vip"], language: ["EN-us"], subscribedAfter: "2026-01-01" } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^seg_[0-9A-Z]{26}$/),
      projectId,
      name: "French VIPs",
      // Stored canonical: country uppercase, language canonical, dates as UTC instants.
      filters: { country: ["FR"], tags: ["vip"], language: ["en-US"], subscribedAfter: "2026-01-01T00:00:00.000Z" },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const id = created.body.id as string;

    const read = await call(get(), "GET", `/segments/${id}`, auth());
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const counted = await call(get(), "POST", "/segments/count", { ...auth(), body: { projectId, savedSegmentId: id } });
    expect(counted.body).toEqual({ count: 1, total: 6 }); // s1

    const updated = await call(get(), "PATCH", `/segments/${id}`, { ...auth(), body: { name: "VIPs", filters: { tags: ["vip"] } } });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ id, name: "VIPs", filters: { tags: ["vip"] } });
    expect(updated.body.filters.country).toBeUndefined();
    // Evaluated when used: the new filters count at once.
    expect((await call(get(), "POST", "/segments/count", { ...auth(), body: { projectId, savedSegmentId: id } })).body).toEqual({ count: 2, total: 6 });

    const renamed = await call(get(), "PATCH", `/segments/${id}`, { ...auth(), body: { name: "Only renamed" } });
    expect(renamed.body).toMatchObject({ name: "Only renamed", filters: { tags: ["vip"] } });

    const deleted = await call(get(), "DELETE", `/segments/${id}`, auth());
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id, deleted: true });
    expect((await call(get(), "GET", `/segments/${id}`, auth())).status).toBe(404);
    expect((await call(get(), "POST", "/segments/count", { ...auth(), body: { projectId, savedSegmentId: id } })).status).toBe(404);
  });

  it("lists a project's segments oldest first with cursor pagination", async () => {
    const p = await createProject(get(), owner, { name: "Lists" });
    const ids: string[] = [];
    for (const name of ["a", "b", "c"]) {
      const res = await call(get(), "POST", "/segments", { ...auth(), body: { projectId: p.id, name, filters: {} } });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const first = await call(get(), "GET", `/segments?projectId=${p.id}&limit=2`, auth());
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.data.map((s: any) => s.id)).toEqual(ids.slice(0, 2));
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(get(), "GET", `/segments?projectId=${p.id}&limit=2&cursor=${first.body.nextCursor}`, auth());
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: ids[2], name: "c", filters: {} })], nextCursor: null });
    // Without projectId: every project of the organization; an API key only its own project's.
    const all = await call(get(), "GET", "/segments?limit=100", auth());
    expect(all.status).toBe(200);
    expect(all.body.data.map((s: any) => s.id)).toEqual(expect.arrayContaining(ids));
    const byKey = await call(get(), "GET", "/segments?limit=100", { apiKey });
    expect(byKey.status).toBe(200);
    expect(byKey.body.data.every((s: any) => s.projectId === projectId)).toBe(true);
    expect(byKey.body.data.map((s: any) => s.id)).not.toContain(ids[0]);
    const foreign = await registerAccount(get(), "seg-list-foreign");
    expect((await call(get(), "GET", "/segments", { token: foreign.token, orgId: foreign.orgId })).body).toEqual({ data: [], nextCursor: null });
  });

  it("an API key manages and counts the segments of its own project", async () => {
    const created = await call(get(), "POST", "/segments", { apiKey, body: { projectId, name: "Desktop", filters: { platform: ["desktop"] } } });
    expect(created.status).toBe(201);
    expect((await call(get(), "GET", `/segments/${created.body.id}`, { apiKey })).body.name).toBe("Desktop");
    const list = await call(get(), "GET", `/segments?projectId=${projectId}`, { apiKey });
    expect(list.body.data.map((s: any) => s.id)).toContain(created.body.id);
    expect((await call(get(), "POST", "/segments/count", { apiKey, body: { projectId, savedSegmentId: created.body.id } })).body).toEqual({ count: 2, total: 6 });
    expect((await call(get(), "DELETE", `/segments/${created.body.id}`, { apiKey })).status).toBe(200);
  });

  it("tenant and partner principals work on their tenant's projects", async () => {
    const partner = await partnerWithTenant(get());
    const tenant = { token: partner.tenantToken() };
    const project = await call(get(), "POST", "/projects", { ...tenant, body: { name: "Tenant site", environment: "live" } });
    expect(project.status).toBe(201);
    const created = await call(get(), "POST", "/segments", { ...tenant, body: { projectId: project.body.id, name: "All", filters: {} } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const viaPartner = await call(get(), "GET", `/segments/${created.body.id}`, { token: partner.partnerToken, headers: { "reach-tenant-id": partner.tenantExternalId } });
    expect(viaPartner.status).toBe(200);
    const count = await call(get(), "POST", "/segments/count", { token: partner.partnerToken, headers: { "reach-tenant-id": partner.tenantExternalId }, body: { projectId: project.body.id, savedSegmentId: created.body.id } });
    expect(count.body).toEqual({ count: 0, total: 0 });
  });

  it("deleting the project deletes its segments", async () => {
    const p = await createProject(get(), owner, { name: "Doomed" });
    const created = await call(get(), "POST", "/segments", { ...auth(), body: { projectId: p.id, name: "x", filters: {} } });
    expect((await call(get(), "DELETE", `/projects/${p.id}`, auth())).status).toBe(200);
    const rows = await get().database.db.selectFrom("segments").select("id").where("id", "=", created.body.id).execute();
    expect(rows).toEqual([]);
  });
});

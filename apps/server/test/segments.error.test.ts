import { beforeAll, expect, it } from "vitest";
import { createProject, projectWithKey } from "./project-fixtures";
import { type Account, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// Segments: invalid filters are 422 naming the field; other organizations' and projects' segments are
// not found; an API key may only name its own project.

const paths = (body: any) => (body.errors as { path: string }[]).map((e) => e.path);

describeEachDb("segments: errors", (get) => {
  let owner: Account;
  let foreign: Account;
  let projectId: string;
  let apiKey: string;
  let segmentId: string;
  const auth = () => ({ token: owner.token, orgId: owner.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "seg-err");
    foreign = await registerAccount(get(), "seg-foreign");
    ({ projectId, apiKey } = await projectWithKey(get(), owner));
    const res = await call(get(), "POST", "/segments", { ...auth(), body: { projectId, name: "Mine", filters: { tags: ["a"] } } });
    expect(res.status).toBe(201);
    segmentId = res.body.id;
  });

  const INVALID: [string, Record<string, unknown>, string, RegExp?][] = [
    ["an unknown field", { colour: ["red"] }, "filters", /colour/],
    ["an unknown platform", { platform: ["smarttv"] }, "filters.platform.0"],
    ["a country that is not ISO 3166-1 alpha-2", { country: ["FRA"] }, "filters.country.0"],
    ["a two-letter code that is not a country", { country: ["ZZ"] }, "filters.country.0"],
    ["an empty list", { tags: [] }, "filters.tags", /empty/],
    ["an empty excludeTags list", { excludeTags: [] }, "filters.excludeTags"],
    ["an empty city list", { city: [] }, "filters.city"],
    ["a blank browser", { browser: ["  "] }, "filters.browser.0"],
    ["an os that is not a string", { os: [42] }, "filters.os.0"],
    ["a language that is not BCP 47", { language: ["not a tag!"] }, "filters.language.0"],
    ["more than 1,000 externalIds", { externalIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, "filters.externalIds"],
    ["lastSeenDays 0", { lastSeenDays: 0 }, "filters.lastSeenDays"],
    ["lastSeenDays not an integer", { lastSeenDays: 1.5 }, "filters.lastSeenDays"],
    ["subscribedAfter not a date", { subscribedAfter: "yesterday" }, "filters.subscribedAfter"],
    ["subscribedBefore an impossible date", { subscribedBefore: "2026-02-30" }, "filters.subscribedBefore"],
    ["subscribedBefore not after subscribedAfter", { subscribedAfter: "2026-03-01", subscribedBefore: "2026-02-01" }, "filters.subscribedBefore"],
    ["a NUL in a city", { city: ["Pa\u0000ris"] }, "filters.city.0"],
  ];

  for (const [what, filters, path, message] of INVALID) {
    it(`422 for ${what}, naming ${path}, on count, create and update`, async () => {
      for (const [method, url, body] of [
        ["POST", "/segments/count", { projectId, filters }],
        ["POST", "/segments", { projectId, name: "Bad", filters }],
        ["PATCH", `/segments/${segmentId}`, { filters }],
      ] as const) {
        const res = await call(get(), method, url, { ...auth(), body });
        const env = expectEnvelope(res, 422, "Validation failed");
        expect(paths(env), `${method} ${url}`).toContain(path);
        if (message) expect(JSON.stringify(env.errors)).toMatch(message);
      }
    });
  }

  it("count takes exactly one of filters or savedSegmentId", async () => {
    const neither = expectEnvelope(await call(get(), "POST", "/segments/count", { ...auth(), body: { projectId } }), 422);
    expect(paths(neither)).toContain("filters");
    const both = expectEnvelope(await call(get(), "POST", "/segments/count", { ...auth(), body: { projectId, filters: {}, savedSegmentId: segmentId } }), 422);
    expect(paths(both)).toContain("filters");
  });

  it("create needs a projectId, a name and filters", async () => {
    const res = expectEnvelope(await call(get(), "POST", "/segments", { ...auth(), body: {} }), 422);
    expect(paths(res)).toEqual(expect.arrayContaining(["projectId", "name", "filters"]));
    const blank = expectEnvelope(await call(get(), "POST", "/segments", { ...auth(), body: { projectId, name: "  ", filters: {} } }), 422);
    expect(paths(blank)).toContain("name");
  });

  it("another organization's segment is 404 on read, update, delete and count, and stays untouched", async () => {
    const f = { token: foreign.token, orgId: foreign.orgId };
    expectEnvelope(await call(get(), "GET", `/segments/${segmentId}`, f), 404, "Segment not found");
    expectEnvelope(await call(get(), "PATCH", `/segments/${segmentId}`, { ...f, body: { name: "Stolen" } }), 404, "Segment not found");
    expectEnvelope(await call(get(), "DELETE", `/segments/${segmentId}`, f), 404, "Segment not found");
    const fp = await createProject(get(), foreign);
    expectEnvelope(await call(get(), "POST", "/segments/count", { ...f, body: { projectId: fp.id, savedSegmentId: segmentId } }), 404, "Segment not found");
    // Naming the other organization's project is 404 too, never a hint.
    expectEnvelope(await call(get(), "POST", "/segments/count", { ...f, body: { projectId, filters: {} } }), 404, "Project not found");
    expectEnvelope(await call(get(), "GET", `/segments?projectId=${projectId}`, f), 404, "Project not found");
    expect((await call(get(), "GET", `/segments/${segmentId}`, auth())).body.name).toBe("Mine");
  });

  it("a saved segment of another project of the same organization does not count for this one", async () => {
    const other = await createProject(get(), owner, { name: "Other" });
    expectEnvelope(await call(get(), "POST", "/segments/count", { ...auth(), body: { projectId: other.id, savedSegmentId: segmentId } }), 404, "Segment not found");
  });

  it("an API key on another project: 403 when naming that project, 404 for its segments", async () => {
    const other = await projectWithKey(get(), owner, { name: "Keyed" });
    const wrong = { apiKey: other.apiKey };
    expectEnvelope(await call(get(), "POST", "/segments/count", { ...wrong, body: { projectId, filters: {} } }), 403, "Resource belongs to a different project");
    expectEnvelope(await call(get(), "POST", "/segments", { ...wrong, body: { projectId, name: "x", filters: {} } }), 403);
    expectEnvelope(await call(get(), "GET", `/segments?projectId=${projectId}`, wrong), 403);
    expectEnvelope(await call(get(), "GET", `/segments/${segmentId}`, wrong), 404, "Segment not found");
    expectEnvelope(await call(get(), "DELETE", `/segments/${segmentId}`, wrong), 404, "Segment not found");
    // Its own key still works.
    expect((await call(get(), "GET", `/segments/${segmentId}`, { apiKey })).status).toBe(200);
  });

  it("a VIEWER reads and counts but cannot write", async () => {
    const viewer = await registerAccount(get(), "seg-viewer");
    const add = await call(get(), "POST", `/organizations/${owner.orgId}/members`, { ...auth(), body: { email: viewer.email, role: "VIEWER" } });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const v = { token: viewer.token, orgId: owner.orgId };
    expect((await call(get(), "GET", `/segments/${segmentId}`, v)).status).toBe(200);
    expect((await call(get(), "POST", "/segments/count", { ...v, body: { projectId, filters: {} } })).status).toBe(200);
    expectEnvelope(await call(get(), "POST", "/segments", { ...v, body: { projectId, name: "x", filters: {} } }), 403, "Your role does not allow this action");
    expectEnvelope(await call(get(), "PATCH", `/segments/${segmentId}`, { ...v, body: { name: "x" } }), 403);
    expectEnvelope(await call(get(), "DELETE", `/segments/${segmentId}`, v), 403);
  });

  it("a segment id that does not exist is 404; a malformed cursor is 400", async () => {
    expectEnvelope(await call(get(), "GET", "/segments/seg_00000000000000000000000000", auth()), 404, "Segment not found");
    expectEnvelope(await call(get(), "GET", `/segments?projectId=${projectId}&cursor=nope`, auth()), 400);
  });
});

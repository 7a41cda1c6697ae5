import type { CampaignStatus } from "@reachbell/db";
import { beforeAll, expect, it } from "vitest";
import { campaignBody, createCampaign, inHours } from "./campaign-fixtures";
import { addMember } from "./fixtures";
import { createProject, projectWithKey } from "./project-fixtures";
import { type Account, type TestServer, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// Campaigns refused: every bad input is a 422 naming the field (or 404/409/403) in the envelope, and
// writes nothing; every transition the lifecycle does not allow is 409.

async function campaignCount(server: TestServer): Promise<number> {
  const row = await server.database.db.selectFrom("campaigns").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Forces a campaign into a status (as the engine or the scheduler would put it there). */
async function setStatus(server: TestServer, id: string, status: CampaignStatus) {
  await server.database.db.updateTable("campaigns").set({ status }).where("id", "=", id).execute();
}

describeEachDb("campaigns: refused input", (get) => {
  let owner: Account;
  let projectId: string;
  const auth = () => ({ token: owner.token, orgId: owner.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-bad");
    ({ projectId } = await projectWithKey(get(), owner));
  });

  const CASES: [string, (b: ReturnType<typeof campaignBody>) => Record<string, unknown>, string][] = [
    ["unknown top-level field", (b) => ({ ...b, audience: "all" }), "(body)"],
    ["unknown content field", (b) => ({ ...b, content: { ...b.content, colour: "red" } }), "content"],
    ["unknown filter field", (b) => ({ ...b, segment: { filters: { contry: ["FR"] } } }), "segment.filters"],
    ["bad country code", (b) => ({ ...b, segment: { filters: { country: ["XX"] } } }), "segment.filters.country.0"],
    ["empty list", (b) => ({ ...b, segment: { filters: { tags: [] } } }), "segment.filters.tags"],
    ["both filters and savedSegmentId", (b) => ({ ...b, segment: { filters: {}, savedSegmentId: "seg_01HX0000000000000000000000" } }), "segment.filters"],
    ["neither filters nor savedSegmentId", (b) => ({ ...b, segment: {} }), "segment.filters"],
    ["scheduled without sendAt", (b) => ({ ...b, schedule: { mode: "scheduled" } }), "schedule.sendAt"],
    ["sendAt on a draft", (b) => ({ ...b, schedule: { mode: "draft", sendAt: inHours(1) } }), "schedule.sendAt"],
    ["sendAt not a date-time", (b) => ({ ...b, schedule: { mode: "scheduled", sendAt: "tomorrow 9am" } }), "schedule.sendAt"],
    ["sendAt a day that does not exist", (b) => ({ ...b, schedule: { mode: "scheduled", sendAt: `${new Date().getUTCFullYear() + 1}-02-30T09:00:00` } }), "schedule.sendAt"],
    ["sendAt in the past", (b) => ({ ...b, schedule: { mode: "scheduled", sendAt: "2020-01-01T09:00:00Z" } }), "schedule.sendAt"],
    ["sendAt now-ish, local, in the past by an hour", (b) => ({ ...b, schedule: { mode: "scheduled", sendAt: inHours(-1).slice(0, 19), timezone: "UTC" } }), "schedule.sendAt"],
    ["unknown timezone", (b) => ({ ...b, schedule: { mode: "scheduled", sendAt: inHours(1), timezone: "Mars/Olympus" } }), "schedule.timezone"],
    ["unknown mode", (b) => ({ ...b, schedule: { mode: "later" } }), "schedule.mode"],
    ["clickUrl not http(s)", (b) => ({ ...b, content: { ...b.content, clickUrl: "javascript:alert(1)" } }), "content.clickUrl"],
    ["three actions", (b) => ({ ...b, content: { ...b.content, actions: [1, 2, 3].map((i) => ({ action: `a${i}`, title: "x" })) } }), "content.actions"],
    ["utm missing a part", (b) => ({ ...b, utm: { source: "s", medium: "m" } }), "utm.campaign"],
    ["ttl negative", (b) => ({ ...b, ttl: -1 }), "ttl"],
    ["no name", (b) => ({ ...b, name: " " }), "name"],
  ];

  for (const [name, mutate, path] of CASES) {
    it(`${name} → 422 naming ${path}, nothing written`, async () => {
      const before = await campaignCount(get());
      const res = await call(get(), "POST", "/campaigns", { ...auth(), body: mutate(campaignBody(projectId)) });
      const env = expectEnvelope(res, 422);
      expect(env.errors.map((e: { path: string }) => e.path), JSON.stringify(env.errors)).toContain(path);
      if (path === "(body)") expect(env.errors[0].message).toMatch(/audience/);
      expect(await campaignCount(get())).toBe(before);
    });
  }

  it("content too large for Web Push → 422 naming the 4096-byte limit, nothing written", async () => {
    const before = await campaignCount(get());
    const big = { title: "t", body: "é".repeat(2000), clickUrl: "https://shop.example/x" };
    const res = await call(get(), "POST", "/campaigns", { ...auth(), body: campaignBody(projectId, { content: big, schedule: { mode: "immediate" } }) });
    expectEnvelope(res, 422, /4096/);
    expect(await campaignCount(get())).toBe(before);
    // UTM parameters count: content that fits alone can be pushed over the limit by them.
    const edge = await call(get(), "POST", "/campaigns", { ...auth(), body: campaignBody(projectId, { content: { title: "t", body: "b".repeat(3600) } }) });
    expect(edge.status, JSON.stringify(edge.body)).toBe(201);
    const over = await call(get(), "PATCH", `/campaigns/${edge.body.id}`, {
      ...auth(),
      body: { content: { title: "t", body: "b".repeat(3600), clickUrl: `https://shop.example/${"p".repeat(200)}` }, utm: { source: "s".repeat(100), medium: "m".repeat(100), campaign: "c".repeat(100) } },
    });
    expectEnvelope(over, 422, /4096/);
    expect((await call(get(), "GET", `/campaigns/${edge.body.id}`, auth())).body.content.clickUrl).toBeUndefined();
  });

  it("a saved segment of another project → 404 Segment not found", async () => {
    const other = await createProject(get(), owner, { name: "Other" });
    const seg = await call(get(), "POST", "/segments", { ...auth(), body: { projectId: other.id, name: "theirs", filters: {} } });
    const res = await call(get(), "POST", "/campaigns", { ...auth(), body: campaignBody(projectId, { segment: { savedSegmentId: seg.body.id } }) });
    expectEnvelope(res, 404, "Segment not found");
    const missing = await call(get(), "POST", "/campaigns", { ...auth(), body: campaignBody(projectId, { segment: { savedSegmentId: "seg_01HX0000000000000000000000" } }) });
    expectEnvelope(missing, 404, "Segment not found");
  });

  it("a malformed cursor is 400", async () => {
    expectEnvelope(await call(get(), "GET", "/campaigns?cursor=nope", auth()), 400);
    const c = await createCampaign(get(), owner, projectId);
    expectEnvelope(await call(get(), "GET", `/campaigns/${c.id}/messages?cursor=nope`, auth()), 400);
  });
});

describeEachDb("campaigns: lifecycle conflicts", (get) => {
  let owner: Account;
  let projectId: string;
  const auth = () => ({ token: owner.token, orgId: owner.orgId });
  const post = (id: string, verb: string) => call(get(), "POST", `/campaigns/${id}/${verb}`, { ...auth(), body: {} });

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-409");
    ({ projectId } = await projectWithKey(get(), owner));
  });

  async function inStatus(status: CampaignStatus) {
    const c = await createCampaign(get(), owner, projectId);
    await setStatus(get(), c.id, status);
    return c.id;
  }

  for (const status of ["sending", "paused", "sent", "cancelled"] as const) {
    it(`${status}: PATCH and DELETE → 409 Campaign not editable, nothing changed`, async () => {
      const id = await inStatus(status);
      const before = (await call(get(), "GET", `/campaigns/${id}`, auth())).body;
      expectEnvelope(await call(get(), "PATCH", `/campaigns/${id}`, { ...auth(), body: { name: "x" } }), 409, "Only a draft or scheduled campaign can be edited or deleted");
      expectEnvelope(await call(get(), "DELETE", `/campaigns/${id}`, auth()), 409, "Only a draft or scheduled campaign can be edited or deleted");
      expect((await call(get(), "GET", `/campaigns/${id}`, auth())).body).toEqual(before);
    });
  }

  const WRONG: [string, CampaignStatus[]][] = [
    ["send", ["sending", "paused", "sent", "cancelled"]],
    ["pause", ["draft", "scheduled", "sent", "cancelled"]],
    ["resume", ["draft", "scheduled", "sending", "sent", "cancelled"]],
    ["cancel", ["sent"]],
  ];
  for (const [verb, statuses] of WRONG) {
    it(`${verb} from ${statuses.join(", ")} → 409 wrong status`, async () => {
      for (const status of statuses) {
        const id = await inStatus(status);
        expectEnvelope(await post(id, verb), 409, "The campaign's status does not allow this action");
        const row = await get().database.db.selectFrom("campaigns").select("status").where("id", "=", id).executeTakeFirstOrThrow();
        expect(row.status, `${verb} from ${status}`).toBe(status);
      }
    });
  }

  it("concurrent starts of one campaign: exactly one wins, the others are 409", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "scheduled", sendAt: inHours(1) } });
    const results = await Promise.all([post(c.id, "send"), post(c.id, "send"), post(c.id, "send"), post(c.id, "cancel"), post(c.id, "send")]);
    const ok = results.filter((r) => r.status === 200);
    for (const r of results) expect([200, 409]).toContain(r.status);
    // Either a send won (then cancel may still follow it: sending → cancelled) or cancel won first.
    expect(ok.filter((r) => r.body.status === "sending" || r.body.status === "cancelled").length).toBe(ok.length);
    const sends = results.slice(0, 3).concat(results[4]!).filter((r) => r.status === 200);
    expect(sends.length).toBeLessThanOrEqual(1);
  });

  it("an edit racing a start: the campaign is either edited then started, or started and the edit refused", async () => {
    const c = await createCampaign(get(), owner, projectId);
    const [edit, send] = await Promise.all([call(get(), "PATCH", `/campaigns/${c.id}`, { ...auth(), body: { name: "Edited" } }), post(c.id, "send")]);
    expect(send.status).toBe(200);
    expect([200, 409]).toContain(edit.status);
    const row = await get().database.db.selectFrom("campaigns").select(["status", "name"]).where("id", "=", c.id).executeTakeFirstOrThrow();
    expect(row.status).toBe("sending");
    expect(row.name).toBe(edit.status === 200 ? "Edited" : "Winter sale");
  });
});

describeEachDb("campaigns: who may call", (get) => {
  let owner: Account;
  let projectId: string;
  let campaignId: string;

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-auth");
    ({ projectId } = await projectWithKey(get(), owner));
    campaignId = (await createCampaign(get(), owner, projectId)).id;
  });

  it("a VIEWER reads but cannot write (403)", async () => {
    const viewer = await addMember(get(), owner, "VIEWER");
    const as = { token: viewer.account.token, orgId: owner.orgId };
    expect((await call(get(), "GET", `/campaigns/${campaignId}`, as)).status).toBe(200);
    expect((await call(get(), "GET", `/campaigns?projectId=${projectId}`, as)).status).toBe(200);
    expectEnvelope(await call(get(), "POST", "/campaigns", { ...as, body: campaignBody(projectId) }), 403, "Your role does not allow this action");
    expectEnvelope(await call(get(), "PATCH", `/campaigns/${campaignId}`, { ...as, body: { name: "x" } }), 403);
    expectEnvelope(await call(get(), "POST", `/campaigns/${campaignId}/send`, { ...as, body: {} }), 403);
    expectEnvelope(await call(get(), "DELETE", `/campaigns/${campaignId}`, as), 403);
  });

  it("another organization's campaign or project is 404; an API key of another project is 403 on its project, 404 on its campaign", async () => {
    const stranger = await registerAccount(get(), "cmp-stranger");
    const theirs = await projectWithKey(get(), stranger);
    const as = { token: stranger.token, orgId: stranger.orgId };
    expectEnvelope(await call(get(), "GET", `/campaigns/${campaignId}`, as), 404, "Campaign not found");
    expectEnvelope(await call(get(), "POST", `/campaigns/${campaignId}/cancel`, { ...as, body: {} }), 404, "Campaign not found");
    expectEnvelope(await call(get(), "GET", `/campaigns/${campaignId}/export`, as), 404, "Campaign not found");
    expectEnvelope(await call(get(), "POST", "/campaigns", { ...as, body: campaignBody(projectId) }), 404, "Project not found");
    expectEnvelope(await call(get(), "POST", "/campaigns", { apiKey: theirs.apiKey, body: campaignBody(projectId) }), 403, "Resource belongs to a different project");
    expectEnvelope(await call(get(), "GET", `/campaigns/${campaignId}`, { apiKey: theirs.apiKey }), 404, "Campaign not found");
    const list = await call(get(), "GET", "/campaigns", as);
    expect(list.body.data).toEqual([]);
  });

  it("without credentials: 401, the export included", async () => {
    expectEnvelope(await call(get(), "GET", `/campaigns/${campaignId}`), 401);
    expectEnvelope(await call(get(), "GET", `/campaigns/${campaignId}/export`), 401);
  });
});

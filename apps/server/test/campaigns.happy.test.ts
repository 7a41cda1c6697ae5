import type { CampaignContent } from "@reachbell/contract";
import { beforeAll, describe, expect, it } from "vitest";
import { pushContentOf } from "../src/campaigns/content";
import { campaignBody, createCampaign, inHours, insertMessages, insertSubscriber } from "./campaign-fixtures";
import { createProject, projectWithKey } from "./project-fixtures";
import { type Account, call, describeEachDb, registerAccount } from "./support";

// Campaigns (SPEC §8): create in each mode, the lifecycle, reads with stats, per-recipient results
// and the CSV export. The fan-out engine is not what is tested here: message rows are written
// directly, as it would write them, so every number is known in advance.

describeEachDb("campaigns: create and lifecycle", (get) => {
  let owner: Account;
  let projectId: string;
  let apiKey: string;
  const auth = () => ({ token: owner.token, orgId: owner.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-life");
    ({ projectId, apiKey } = await projectWithKey(get(), owner, { timezone: "Europe/Paris" }));
  });

  it("creates a draft (201) with everything it was given, and reads it back", async () => {
    const body = campaignBody(projectId, {
      utm: { source: "reachbell", medium: "push", campaign: "winter" },
      ttl: 3600,
      urgency: "high",
      content: {
        title: "Sale",
        body: "Everything -20%",
        clickUrl: "https://shop.example/sale?ref=home#top",
        iconUrl: "https://shop.example/i.png",
        actions: [{ action: "open", title: "Open", url: "https://shop.example/a?x=1" }, { action: "later", title: "Later" }],
      },
    });
    const created = await call(get(), "POST", "/campaigns", { ...auth(), body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^cmp_[0-9A-Z]{26}$/),
      projectId,
      name: "Winter sale",
      status: "draft",
      content: body.content,
      segment: { filters: { country: ["FR"] } },
      schedule: { mode: "draft", sendAt: null, timezone: null },
      utm: { source: "reachbell", medium: "push", campaign: "winter" },
      ttl: 3600,
      urgency: "high",
      stats: { audience: 0, queued: 0, sent: 0, delivered: 0, failed: 0, expired: 0, skipped: 0, simulated: 0, displayed: 0, clicked: 0 },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      startedAt: null,
      completedAt: null,
    });
    const read = await call(get(), "GET", `/campaigns/${created.body.id}`, { apiKey });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    // The content is stored as given; UTM is applied to what is pushed, keeping query and fragment.
    const pushed = pushContentOf(read.body.content as CampaignContent, read.body.utm);
    expect(pushed.url).toBe("https://shop.example/sale?ref=home&utm_source=reachbell&utm_medium=push&utm_campaign=winter#top");
    expect(pushed.actions).toEqual([
      { action: "open", title: "Open", url: "https://shop.example/a?x=1&utm_source=reachbell&utm_medium=push&utm_campaign=winter" },
      { action: "later", title: "Later" },
    ]);
  });

  it("scheduled with a local sendAt is read in the project's timezone, or in the given one, and stored in UTC", async () => {
    const year = new Date().getUTCFullYear() + 1;
    const paris = await createCampaign(get(), owner, projectId, { schedule: { mode: "scheduled", sendAt: `${year}-01-15T09:00:00` } });
    expect(paris.status).toBe("scheduled");
    expect(paris.schedule).toEqual({ mode: "scheduled", sendAt: `${year}-01-15T08:00:00.000Z`, timezone: "Europe/Paris" });
    const ny = await createCampaign(get(), owner, projectId, { schedule: { mode: "scheduled", sendAt: `${year}-07-04T09:30:00`, timezone: "America/New_York" } });
    expect(ny.schedule).toEqual({ mode: "scheduled", sendAt: `${year}-07-04T13:30:00.000Z`, timezone: "America/New_York" });
    // An instant with an offset is that instant, whatever the zone.
    const offset = await createCampaign(get(), owner, projectId, { schedule: { mode: "scheduled", sendAt: `${year}-03-01T10:00:00+05:30`, timezone: "Asia/Tokyo" } });
    expect(offset.schedule.sendAt).toBe(`${year}-03-01T04:30:00.000Z`);
  });

  it("immediate starts sending at once, with the audience filters frozen", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    expect(c.status).toBe("sending");
    expect(c.startedAt).toEqual(expect.any(String));
    const row = await get().database.db.selectFrom("campaigns").select(["audienceFilters", "status"]).where("id", "=", c.id).executeTakeFirstOrThrow();
    expect(JSON.parse(row.audienceFilters!)).toEqual({ country: ["FR"] });
  });

  it("a saved segment is checked and its filters copied", async () => {
    const seg = await call(get(), "POST", "/segments", { ...auth(), body: { projectId, name: "VIP", filters: { tags: ["vip"] } } });
    const c = await createCampaign(get(), owner, projectId, { segment: { savedSegmentId: seg.body.id } });
    expect(c.segment).toEqual({ savedSegmentId: seg.body.id });
    const row = await get().database.db.selectFrom("campaigns").select("audienceFilters").where("id", "=", c.id).executeTakeFirstOrThrow();
    expect(JSON.parse(row.audienceFilters!)).toEqual({ tags: ["vip"] });
  });

  it("draft → edit → scheduled → send → pause (twice) → resume → cancel (twice)", async () => {
    const c = await createCampaign(get(), owner, projectId);
    const edited = await call(get(), "PATCH", `/campaigns/${c.id}`, {
      ...auth(),
      body: { name: "Renamed", content: { title: "New", body: "Body", clickUrl: "https://x.example/?a=1" }, utm: { source: "s", medium: "m", campaign: "c" } },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ name: "Renamed", status: "draft", content: { title: "New" }, utm: { source: "s" } });
    expect(pushContentOf(edited.body.content, edited.body.utm).url).toBe("https://x.example/?a=1&utm_source=s&utm_medium=m&utm_campaign=c");

    const sendAt = inHours(2);
    const scheduled = await call(get(), "PATCH", `/campaigns/${c.id}`, { ...auth(), body: { schedule: { mode: "scheduled", sendAt } } });
    expect(scheduled.body).toMatchObject({ status: "scheduled", schedule: { mode: "scheduled", sendAt } });
    const noUtm = await call(get(), "PATCH", `/campaigns/${c.id}`, { ...auth(), body: { utm: null } });
    expect(noUtm.body).toMatchObject({ status: "scheduled", utm: null });

    const sent = await call(get(), "POST", `/campaigns/${c.id}/send`, { ...auth(), body: {} });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ status: "sending", startedAt: expect.any(String) });

    const paused = await call(get(), "POST", `/campaigns/${c.id}/pause`, { ...auth(), body: {} });
    expect(paused.body.status).toBe("paused");
    const again = await call(get(), "POST", `/campaigns/${c.id}/pause`, { ...auth(), body: {} });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(paused.body);

    const resumed = await call(get(), "POST", `/campaigns/${c.id}/resume`, { apiKey, body: {} });
    expect(resumed.body).toMatchObject({ status: "sending", startedAt: sent.body.startedAt });

    const [queued1, queued2] = await insertMessages(get(), c as any, [{ status: "queued" }, { status: "queued" }, { status: "delivered" }, { status: "pending" }]);
    const cancelled = await call(get(), "POST", `/campaigns/${c.id}/cancel`, { ...auth(), body: {} });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled", completedAt: expect.any(String) });
    // Queued recipients are skipped; what was delivered or in flight is left as it is.
    expect(cancelled.body.stats).toMatchObject({ audience: 4, skipped: 2, delivered: 1, queued: 1, sent: 1 });
    const skipped = await get().database.db.selectFrom("messages").select(["id", "status", "reason", "completedAt"]).where("id", "in", [queued1!, queued2!]).execute();
    for (const m of skipped) expect(m).toMatchObject({ status: "skipped", reason: "campaign_cancelled", completedAt: expect.any(String) });
    const twice = await call(get(), "POST", `/campaigns/${c.id}/cancel`, { ...auth(), body: {} });
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual(cancelled.body);
  });

  it("a scheduled campaign edited to draft is a draft again; immediate starts it", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "scheduled", sendAt: inHours(5) } });
    const draft = await call(get(), "PATCH", `/campaigns/${c.id}`, { ...auth(), body: { schedule: { mode: "draft" } } });
    expect(draft.body).toMatchObject({ status: "draft", schedule: { mode: "draft", sendAt: null } });
    const now = await call(get(), "PATCH", `/campaigns/${c.id}`, { ...auth(), body: { schedule: { mode: "immediate" } } });
    expect(now.body).toMatchObject({ status: "sending", schedule: { mode: "immediate" } });
  });

  it("delete a draft and a scheduled campaign", async () => {
    for (const schedule of [{ mode: "draft" }, { mode: "scheduled", sendAt: inHours(1) }]) {
      const c = await createCampaign(get(), owner, projectId, { schedule });
      const del = await call(get(), "DELETE", `/campaigns/${c.id}`, auth());
      expect(del.status).toBe(200);
      expect(del.body).toEqual({ id: c.id, deleted: true });
      expect((await call(get(), "GET", `/campaigns/${c.id}`, auth())).status).toBe(404);
    }
  });

  it("tRPC answers the same as REST", async () => {
    const c = await createCampaign(get(), owner, projectId);
    const res = await call(get(), "GET", `/trpc/campaigns.get?input=${encodeURIComponent(JSON.stringify({ campaignId: c.id }))}`, { apiKey });
    expect(res.status).toBe(200);
    expect(res.body.result.data).toEqual((await call(get(), "GET", `/campaigns/${c.id}`, { apiKey })).body);
  });
});

describeEachDb("campaigns: list, stats, results", (get) => {
  let owner: Account;
  let projectId: string;
  const auth = () => ({ token: owner.token, orgId: owner.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-read");
    ({ projectId } = await projectWithKey(get(), owner));
  });

  it("stats count the message rows by status and reason", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    await insertMessages(get(), c as any, [
      { status: "queued" },
      { status: "pending" },
      { status: "delivered", pushStatus: 201, displayed: true, clicked: true },
      { status: "delivered", pushStatus: 201, displayed: true },
      { status: "delivered", pushStatus: 201 },
      { status: "failed", reason: "provider_error", pushStatus: 500 },
      { status: "failed", reason: "subscription_expired", pushStatus: 410 },
      { status: "skipped", reason: "frequency_capped" },
      { status: "simulated" },
    ]);
    const res = await call(get(), "GET", `/campaigns/${c.id}`, auth());
    expect(res.body.stats).toEqual({ audience: 9, queued: 2, sent: 5, delivered: 3, failed: 1, expired: 1, skipped: 1, simulated: 1, displayed: 2, clicked: 1 });
  });

  it("lists newest first with a cursor, filtered by project and status, each with its own stats", async () => {
    const p = await createProject(get(), owner, { name: "Listing" });
    const ids: string[] = [];
    for (const mode of ["draft", "immediate", "draft"]) ids.push((await createCampaign(get(), owner, p.id, { schedule: { mode } })).id);
    await insertMessages(get(), { id: ids[1]!, projectId: p.id }, [{ status: "delivered" }, { status: "queued" }]);
    const first = await call(get(), "GET", `/campaigns?projectId=${p.id}&limit=2`, auth());
    expect(first.status).toBe(200);
    expect(first.body.data.map((c: any) => c.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.data[1].stats).toMatchObject({ audience: 2, delivered: 1, queued: 1 });
    expect(first.body.data[0].stats.audience).toBe(0);
    const second = await call(get(), "GET", `/campaigns?projectId=${p.id}&limit=2&cursor=${first.body.nextCursor}`, auth());
    expect(second.body).toMatchObject({ data: [{ id: ids[0] }], nextCursor: null });
    const sending = await call(get(), "GET", `/campaigns?projectId=${p.id}&status=sending`, auth());
    expect(sending.body.data.map((c: any) => c.id)).toEqual([ids[1]]);
    // Without projectId: every project of the organization.
    const all = await call(get(), "GET", "/campaigns?limit=100", auth());
    expect(all.body.data.map((c: any) => c.id)).toEqual(expect.arrayContaining(ids));
  });

  it("per-recipient results by message id, with a cursor and a status filter", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    const subscriberId = await insertSubscriber(get(), projectId);
    const ids = await insertMessages(get(), c as any, [{ status: "delivered", subscriberId, pushStatus: 201 }, { status: "queued" }, { status: "skipped", reason: "frequency_capped" }]);
    const page1 = await call(get(), "GET", `/campaigns/${c.id}/messages?limit=2`, auth());
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((m: any) => m.id)).toEqual(ids.slice(0, 2));
    const page2 = await call(get(), "GET", `/campaigns/${c.id}/messages?limit=2&cursor=${page1.body.nextCursor}`, auth());
    expect(page2.body).toMatchObject({ data: [{ id: ids[2] }], nextCursor: null });
    const delivered = await call(get(), "GET", `/campaigns/${c.id}/messages?status=delivered`, auth());
    expect(delivered.body.data).toEqual([
      {
        id: expect.any(String),
        subscriberId,
        status: "delivered",
        reason: null,
        pushStatus: 201,
        attempts: [],
        notBefore: null,
        createdAt: expect.any(String),
        completedAt: expect.any(String),
        displayedAt: null,
        clickedAt: null,
      },
    ]);
  });
});

describe("campaigns: the UTM helper keeps what the URL had", () => {
  it("appends to an existing query, replaces a utm parameter already there, keeps the fragment", () => {
    const content = { title: "t", body: "b", clickUrl: "https://a.example/p?q=1&utm_source=old#f" };
    expect(pushContentOf(content, { source: "n", medium: "m", campaign: "c" }).url).toBe("https://a.example/p?q=1&utm_source=n&utm_medium=m&utm_campaign=c#f");
    expect(pushContentOf(content, null).url).toBe(content.clickUrl);
  });
});

/** An RFC 4180 parser (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") endField();
    else if (ch === "\r" && text[i + 1] === "\n") {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}

describeEachDb("campaigns: CSV export", (get) => {
  let owner: Account;
  let projectId: string;
  let apiKey: string;

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-csv");
    ({ projectId, apiKey } = await projectWithKey(get(), owner));
  });

  it("one row per recipient, RFC 4180 quoting, formulas neutralised, as an attachment", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    const tricky = ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@SUM(A1)", 'a,b "quoted"\r\nline', "plain"];
    const subs = [];
    for (const externalId of tricky) subs.push(await insertSubscriber(get(), projectId, { externalId }));
    const ids = await insertMessages(
      get(),
      c as any,
      subs.map((subscriberId, i) => (i === 0 ? { subscriberId, status: "failed" as const, reason: "subscription_expired", pushStatus: 410 } : { subscriberId, status: "delivered" as const, pushStatus: 201, clicked: i === 1 })),
    );
    const res = await call(get(), "GET", `/campaigns/${c.id}/export`, { apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${c.id}.csv"`);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(res.headers.get("ratelimit-limit")).not.toBeNull();
    const text = res.body as string;
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(["messageId", "subscriberId", "externalId", "status", "reason", "pushStatus", "createdAt", "completedAt", "displayedAt", "clickedAt"]);
    expect(rows).toHaveLength(1 + tricky.length);
    expect(rows.slice(1).map((r) => r[0])).toEqual(ids);
    expect(rows.slice(1).map((r) => r[2])).toEqual([`'${tricky[0]}`, "'+1", "'-2", "'@SUM(A1)", tricky[4], "plain"]);
    expect(rows[1]!.slice(3, 6)).toEqual(["failed", "subscription_expired", "410"]);
    expect(rows[2]![9]).toMatch(/^\d{4}-/);
    expect(rows[3]![9]).toBe("");
    // The raw text: the quote doubled, the field quoted because of its comma and line break.
    expect(text).toContain('"a,b ""quoted""\r\nline"');
  });

  it("streams a large campaign in chunks (no Content-Length), every row there once", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    const n = 3500;
    const ids = await insertMessages(get(), c as any, Array.from({ length: n }, (_, i) => ({ status: i % 7 === 0 ? ("queued" as const) : ("delivered" as const) })));
    const res = await fetch(`${get().url}/campaigns/${c.id}/export`, { headers: { authorization: `Bearer ${owner.token}`, "x-org-id": owner.orgId } });
    expect(res.status).toBe(200);
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(res.headers.get("content-length")).toBeNull();
    let chunks = 0;
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks++;
      text += decoder.decode(chunk, { stream: true });
    }
    expect(chunks).toBeGreaterThan(1);
    const rows = parseCsv(text);
    expect(rows).toHaveLength(n + 1);
    expect(rows.slice(1).map((r) => r[0])).toEqual(ids);
  });

  it("an empty campaign exports the header row only; the export works under /api too", async () => {
    const c = await createCampaign(get(), owner, projectId);
    const res = await fetch(`${get().url}/api/campaigns/${c.id}/export`, { headers: { "x-api-key": apiKey } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("messageId,subscriberId,externalId,status,reason,pushStatus,createdAt,completedAt,displayedAt,clickedAt\r\n");
  });
});

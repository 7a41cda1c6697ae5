import { expect, it } from "vitest";
import { addMember, trpcClient } from "./fixtures";
import { CHROME_MAC, SAFARI_IPHONE, createProject, partnerWithTenant, projectWithKey, registerSub, subscription } from "./project-fixtures";
import { call, describeEachDb, registerAccount } from "./support";

const SUB = /^sub_[0-9A-Z]{26}$/;
const TOK = /^tok_[0-9A-Z]{26}$/;

describeEachDb("subscribers: register, identify, tag, list, read, unsubscribe", (get) => {
  it("registers a subscription (201) with its token, derived browser/OS/device, and no key material in the response", async () => {
    const owner = await registerAccount(get(), "reg");
    const { projectId, apiKey } = await projectWithKey(get(), owner);
    const s = subscription();
    const res = await call(get(), "POST", "/subscribers", { apiKey, body: { ...s, userAgent: CHROME_MAC, timezone: "Europe/Berlin", language: "de-de" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(SUB),
      projectId,
      token: expect.stringMatching(TOK),
      status: "active",
      endpoint: s.endpoint,
      externalId: null,
      tags: [],
      userAgent: CHROME_MAC,
      browser: "Chrome",
      os: "Mac OS",
      deviceType: "desktop",
      timezone: "Europe/Berlin",
      language: "de-DE",
      country: null,
      city: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastSeenAt: res.body.createdAt,
    });
    expect(JSON.stringify(res.body)).not.toContain(s.p256dh);
    expect(JSON.stringify(res.body)).not.toContain(s.auth);
    // The keys are stored for sending.
    const row = await get().database.db.selectFrom("subscribers").selectAll().where("id", "=", res.body.id).executeTakeFirstOrThrow();
    expect(row.p256dh).toBe(s.p256dh);
    expect(row.auth).toBe(s.auth);
  });

  it("accepts PushSubscription.toJSON() as a browser hands it over ({endpoint, expirationTime, keys: {p256dh, auth}}), over REST and tRPC alike", async () => {
    const owner = await registerAccount(get(), "tojson");
    const { projectId, apiKey } = await projectWithKey(get(), owner);
    const stored = (id: string) => get().database.db.selectFrom("subscribers").select(["endpoint", "p256dh", "auth", "status"]).where("id", "=", id).executeTakeFirstOrThrow();
    // expirationTime: null (what browsers send), a number, or absent: accepted and ignored.
    for (const expirationTime of [null, 1767225600000, undefined]) {
      const { endpoint, p256dh, auth } = subscription();
      const res = await call(get(), "POST", "/subscribers", { apiKey, body: { endpoint, expirationTime, keys: { p256dh, auth } } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ projectId, endpoint, status: "active", tags: [] });
      expect(res.body).not.toHaveProperty("expirationTime");
      expect(res.body).not.toHaveProperty("keys");
      expect(await stored(res.body.id)).toEqual({ endpoint, p256dh, auth, status: "active" });
    }
    const { endpoint, p256dh, auth } = subscription();
    const viaTrpc = await trpcClient(get(), undefined, { headers: { "x-api-key": apiKey } }).subscribers.register.mutate({ endpoint, expirationTime: null, keys: { p256dh, auth } });
    expect(viaTrpc).toMatchObject({ projectId, endpoint, status: "active" });
    expect(await stored(viaTrpc.id)).toEqual({ endpoint, p256dh, auth, status: "active" });
    // The same subscription in the flat shape is the same subscriber: 409 with it.
    const again = await call(get(), "POST", "/subscribers", { apiKey, body: { endpoint, p256dh, auth } });
    expect(again.status).toBe(409);
    expect(again.body.subscriber.id).toBe(viaTrpc.id);
    // Unsubscribed, then registered again as toJSON() with new keys: reactivated with those keys.
    expect((await call(get(), "DELETE", `/subscribers/${viaTrpc.id}`, { apiKey })).status).toBe(200);
    const fresh = subscription(endpoint);
    const back = await call(get(), "POST", "/subscribers", { apiKey, body: { endpoint, expirationTime: null, keys: { p256dh: fresh.p256dh, auth: fresh.auth } } });
    expect(back.status, JSON.stringify(back.body)).toBe(201);
    expect(back.body.id).toBe(viaTrpc.id);
    expect(await stored(viaTrpc.id)).toEqual({ endpoint, p256dh: fresh.p256dh, auth: fresh.auth, status: "active" });
  });

  it("derives mobile devices, tolerates unknown agents, and accepts padded base64url keys", async () => {
    const owner = await registerAccount(get(), "ua");
    const { apiKey } = await projectWithKey(get(), owner);
    const iphone = await call(get(), "POST", "/subscribers", { apiKey, body: { ...subscription(), userAgent: SAFARI_IPHONE } });
    expect(iphone.body).toMatchObject({ browser: "Mobile Safari", os: "iOS", deviceType: "mobile" });
    const odd = await call(get(), "POST", "/subscribers", { apiKey, body: { ...subscription(), userAgent: "curl-ish/0.0" } });
    expect(odd.status).toBe(201);
    expect(odd.body).toMatchObject({ browser: null, os: null, deviceType: null });
    const none = await registerSub(get(), apiKey);
    expect(none).toMatchObject({ userAgent: null, browser: null, timezone: null, language: null });
    const s = subscription();
    const padded = await call(get(), "POST", "/subscribers", { apiKey, body: { ...s, p256dh: `${s.p256dh}=`, auth: `${s.auth}==` } });
    expect(padded.status).toBe(201);
    const row = await get().database.db.selectFrom("subscribers").select(["p256dh", "auth"]).where("id", "=", padded.body.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ p256dh: s.p256dh, auth: s.auth });
  });

  it("the same endpoint again → 409 with the existing subscriber; other projects may hold the same endpoint", async () => {
    const owner = await registerAccount(get(), "dup");
    const a = await projectWithKey(get(), owner);
    const b = await projectWithKey(get(), owner);
    const s = subscription();
    const first = await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: s });
    const again = await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: { ...subscription(s.endpoint), userAgent: CHROME_MAC } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      statusCode: 409,
      message: "A subscriber with this endpoint already exists in this project",
      requestId: again.headers.get("x-request-id"),
      subscriber: first.body,
    });
    const elsewhere = await call(get(), "POST", "/subscribers", { apiKey: b.apiKey, body: s });
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.id).not.toBe(first.body.id);
  });

  it("re-registering an unsubscribed or expired subscriber reactivates it with the new keys", async () => {
    const owner = await registerAccount(get(), "react");
    const { apiKey } = await projectWithKey(get(), owner);
    const s = subscription();
    const first = await call(get(), "POST", "/subscribers", { apiKey, body: s });
    await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: first.body.token, add: ["vip"] } });
    expect((await call(get(), "DELETE", `/subscribers/${first.body.id}`, { apiKey })).body.status).toBe("unsubscribed");

    const fresh = subscription(s.endpoint);
    const back = await call(get(), "POST", "/subscribers", { apiKey, body: { ...fresh, userAgent: SAFARI_IPHONE } });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ id: first.body.id, token: first.body.token, status: "active", tags: ["vip"], browser: "Mobile Safari" });
    let row = await get().database.db.selectFrom("subscribers").selectAll().where("id", "=", first.body.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ p256dh: fresh.p256dh, auth: fresh.auth, status: "active" });

    // A push service answering 410 marks subscribers expired; re-registering brings them back too.
    await get().database.db.updateTable("subscribers").set({ status: "expired" }).where("id", "=", first.body.id).execute();
    const newest = subscription(s.endpoint);
    const revived = await call(get(), "POST", "/subscribers", { apiKey, body: newest });
    expect(revived.status).toBe(201);
    expect(revived.body.status).toBe("active");
    row = await get().database.db.selectFrom("subscribers").selectAll().where("id", "=", first.body.id).executeTakeFirstOrThrow();
    expect(row.p256dh).toBe(newest.p256dh);
    const count = await get().database.db.selectFrom("subscribers").select("id").where("endpoint", "=", s.endpoint).execute();
    expect(count).toHaveLength(1);
  });

  it("identify attaches an externalId", async () => {
    const owner = await registerAccount(get(), "ident");
    const { apiKey } = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), apiKey);
    const res = await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: sub.token, externalId: "user-42" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: sub.id, externalId: "user-42" });
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey })).body.externalId).toBe("user-42");
  });

  it("tags: add and remove by token; by externalId on every subscriber of that user", async () => {
    const owner = await registerAccount(get(), "tags");
    const { apiKey } = await projectWithKey(get(), owner);
    const phone = await registerSub(get(), apiKey);
    const laptop = await registerSub(get(), apiKey);
    const other = await registerSub(get(), apiKey);
    for (const s of [phone, laptop]) await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: s.token, externalId: "u1" } });

    let res = await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: phone.token, add: ["news", "sports", "news", " beta "] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: phone.id, tags: ["beta", "news", "sports"], matched: 1 });
    res = await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: phone.token, remove: ["sports", "absent"], add: ["weather"] } });
    expect(res.body.tags).toEqual(["beta", "news", "weather"]);

    res = await call(get(), "POST", "/subscribers/tags", { apiKey, body: { externalId: "u1", add: ["premium"], remove: ["beta"] } });
    expect(res.status).toBe(200);
    expect(res.body.matched).toBe(2);
    expect(res.body.id).toBe(laptop.id); // the most recently created of the user's subscribers
    expect((await call(get(), "GET", `/subscribers/${phone.id}`, { apiKey })).body.tags).toEqual(["news", "premium", "weather"]);
    expect((await call(get(), "GET", `/subscribers/${laptop.id}`, { apiKey })).body.tags).toEqual(["premium"]);
    expect((await call(get(), "GET", `/subscribers/${other.id}`, { apiKey })).body.tags).toEqual([]);
  });

  it("exactly 100 tags are allowed", async () => {
    const owner = await registerAccount(get(), "hundred");
    const { apiKey } = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), apiKey);
    const tags = Array.from({ length: 100 }, (_, i) => `t${i}`.padEnd(64, "x"));
    const res = await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: tags } });
    expect(res.status).toBe(200);
    expect(res.body.tags).toHaveLength(100);
  });

  it("lists with cursor pagination and filters by status, tag and externalId", async () => {
    const owner = await registerAccount(get(), "listsubs");
    const { projectId, apiKey } = await projectWithKey(get(), owner);
    const subs: Awaited<ReturnType<typeof registerSub>>[] = [];
    for (let i = 0; i < 7; i++) subs.push(await registerSub(get(), apiKey));
    await call(get(), "DELETE", `/subscribers/${subs[1]!.id}`, { apiKey });
    await call(get(), "DELETE", `/subscribers/${subs[4]!.id}`, { apiKey });
    for (const i of [0, 2, 4]) await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: subs[i]!.token, add: ["vip"] } });
    await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: subs[5]!.token, externalId: "ext-5" } });

    const ids = async (query: string) => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = await call(get(), "GET", `/subscribers/project/${projectId}?limit=2${query}${cursor ? `&cursor=${cursor}` : ""}`, { apiKey });
        expect(res.status).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(2);
        out.push(...res.body.data.map((s: { id: string }) => s.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return out;
    };
    expect(await ids("")).toEqual(subs.map((s) => s.id));
    expect(await ids("&status=unsubscribed")).toEqual([subs[1]!.id, subs[4]!.id]);
    expect(await ids("&status=active")).toEqual([0, 2, 3, 5, 6].map((i) => subs[i]!.id));
    expect(await ids("&tag=vip")).toEqual([0, 2, 4].map((i) => subs[i]!.id));
    expect(await ids("&tag=vip&status=active")).toEqual([0, 2].map((i) => subs[i]!.id));
    expect(await ids("&externalId=ext-5")).toEqual([subs[5]!.id]);
    expect(await ids("&tag=nobody")).toEqual([]);
    const page = await call(get(), "GET", `/subscribers/project/${projectId}?tag=vip`, { apiKey });
    expect(page.body.data[0].tags).toEqual(["vip"]);
    expect(page.body.nextCursor).toBeNull();
  });

  it("reads one subscriber and unsubscribes it (idempotent)", async () => {
    const owner = await registerAccount(get(), "getdel");
    const { apiKey } = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), apiKey);
    const read = await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(sub);
    const del = await call(get(), "DELETE", `/subscribers/${sub.id}`, { apiKey });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: sub.id, status: "unsubscribed" });
    const again = await call(get(), "DELETE", `/subscribers/${sub.id}`, { apiKey });
    expect(again.body).toEqual(del.body);
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey })).body.status).toBe("unsubscribed");
  });

  it("dashboard principals of the organization read, list and unsubscribe subscribers", async () => {
    const owner = await registerAccount(get(), "dash");
    const { projectId, apiKey } = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), apiKey);
    const viewer = await addMember(get(), owner, "VIEWER");
    const member = await addMember(get(), owner, "MEMBER");
    const asViewer = { token: viewer.account.token, orgId: owner.orgId };
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, asViewer)).body.id).toBe(sub.id);
    expect((await call(get(), "GET", `/subscribers/project/${projectId}`, asViewer)).body.data).toHaveLength(1);
    const del = await call(get(), "DELETE", `/subscribers/${sub.id}`, { token: member.account.token, orgId: owner.orgId });
    expect(del.status).toBe(200);
    expect(del.body.status).toBe("unsubscribed");
    // Over tRPC too, with the same body.
    const client = trpcClient(get(), owner.token, { headers: { "x-org-id": owner.orgId } });
    expect(await client.subscribers.get.query({ id: sub.id })).toEqual(del.body);
  });

  it("tenant and partner principals see their tenant's subscribers", async () => {
    const pt = await partnerWithTenant(get());
    const project = await call(get(), "POST", "/projects", { token: pt.tenantToken(), body: { name: "T", environment: "sandbox" } });
    const key = await call(get(), "POST", `/projects/${project.body.id}/api-keys`, { token: pt.tenantToken(), body: { name: "k" } });
    const sub = await registerSub(get(), key.body.key);
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { token: pt.tenantToken("VIEWER") })).status).toBe(200);
    const viaPartner = await call(get(), "GET", `/subscribers/project/${project.body.id}`, { token: pt.partnerToken, headers: { "reach-tenant-id": pt.tenantExternalId } });
    expect(viaPartner.body.data.map((s: { id: string }) => s.id)).toEqual([sub.id]);
    expect((await call(get(), "DELETE", `/subscribers/${sub.id}`, { token: pt.tenantToken("MEMBER") })).body.status).toBe("unsubscribed");
  });

  it("static routes are not shadowed by /subscribers/{id}", async () => {
    const owner = await registerAccount(get(), "shadow");
    const p = await createProject(get(), owner);
    const res = await call(get(), "GET", `/subscribers/project/${p.id}`, { token: owner.token, orgId: owner.orgId });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], nextCursor: null });
  });
});

import { expect, it } from "vitest";
import { addMember } from "./fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describeEachDb("organizations: happy paths", (get) => {
  it("POST /organizations creates one with the caller as OWNER (201)", async () => {
    const acct = await registerAccount(get(), "create");
    const res = await call(get(), "POST", "/organizations", { token: acct.token, body: { name: "  Acme Corp  " } });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^org_[0-9A-Z]{26}$/),
      name: "Acme Corp",
      plan: "FREE",
      partnerId: null,
      externalId: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      role: "OWNER",
    });
    expect(Math.abs(Date.parse(res.body.createdAt) - Date.now())).toBeLessThan(60_000);
    const got = await call(get(), "GET", `/organizations/${res.body.id}`, { token: acct.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it("GET /organizations lists only mine, page by page with limit and nextCursor", async () => {
    const acct = await registerAccount(get(), "list");
    const stranger = await registerAccount(get(), "stranger");
    const ids = [acct.orgId];
    for (let i = 0; i < 4; i++) {
      const r = await call(get(), "POST", "/organizations", { token: acct.token, body: { name: `Org ${i}` } });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const page = await call(get(), "GET", `/organizations${q}`, { token: acct.token });
      expect(page.status).toBe(200);
      expect(Object.keys(page.body).sort()).toEqual(["data", "nextCursor"]);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      for (const o of page.body.data) {
        expect(o.role).toBe("OWNER");
        expect(o.createdAt).toMatch(ISO);
        seen.push(o.id);
      }
      cursor = page.body.nextCursor;
      pages++;
      expect(pages).toBeLessThan(10);
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).not.toContain(stranger.orgId);

    const all = await call(get(), "GET", "/organizations", { token: acct.token });
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.data.map((o: { id: string }) => o.id)).toEqual(seen);

    const exact = await call(get(), "GET", "/organizations?limit=5", { token: acct.token });
    expect(exact.body.data).toHaveLength(5);
    expect(exact.body.nextCursor).toBeNull();
  });

  it("lists organizations I was added to, with my role there", async () => {
    const owner = await registerAccount(get(), "owner");
    const { account: viewer } = await addMember(get(), owner, "VIEWER");
    const list = await call(get(), "GET", "/organizations", { token: viewer.token });
    expect(list.status).toBe(200);
    const roles = Object.fromEntries(list.body.data.map((o: { id: string; role: string }) => [o.id, o.role]));
    expect(roles).toEqual({ [viewer.orgId]: "OWNER", [owner.orgId]: "VIEWER" });
    const got = await call(get(), "GET", `/organizations/${owner.orgId}`, { token: viewer.token });
    expect(got.status).toBe(200);
    expect(got.body.role).toBe("VIEWER");
    expect(got.body.name).toBe("Org owner");
  });

  it("PATCH renames (OWNER) and everything shows the new name", async () => {
    const acct = await registerAccount(get(), "rename");
    const before = await call(get(), "GET", `/organizations/${acct.orgId}`, { token: acct.token });
    await new Promise((r) => setTimeout(r, 5));
    const res = await call(get(), "PATCH", `/organizations/${acct.orgId}`, { token: acct.token, body: { name: "Renamed" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...before.body, name: "Renamed", updatedAt: expect.stringMatching(ISO) });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(before.body.updatedAt));
    expect((await call(get(), "GET", `/organizations/${acct.orgId}`, { token: acct.token })).body.name).toBe("Renamed");
    const me = await call(get(), "GET", "/auth/me", { token: acct.token });
    expect(me.body.organizations).toEqual([{ id: acct.orgId, name: "Renamed", role: "OWNER" }]);
  });

  it("DELETE removes it (OWNER): then 404 and gone from every list", async () => {
    const acct = await registerAccount(get(), "delete");
    const { account: member } = await addMember(get(), acct, "MEMBER");
    const res = await call(get(), "DELETE", `/organizations/${acct.orgId}`, { token: acct.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: acct.orgId, deleted: true });
    expectEnvelope(await call(get(), "GET", `/organizations/${acct.orgId}`, { token: acct.token }), 404, "Organization not found");
    expectEnvelope(await call(get(), "GET", `/organizations/${acct.orgId}/members`, { token: acct.token }), 404, "Organization not found");
    expectEnvelope(await call(get(), "DELETE", `/organizations/${acct.orgId}`, { token: acct.token }), 404, "Organization not found");
    expect((await call(get(), "GET", "/organizations", { token: acct.token })).body.data).toEqual([]);
    expect((await call(get(), "GET", "/auth/me", { token: acct.token })).body.organizations).toEqual([]);
    // The other member lost it too, and keeps their own organization.
    const theirs = await call(get(), "GET", "/auth/me", { token: member.token });
    expect(theirs.body.organizations).toEqual([{ id: member.orgId, name: "Org member", role: "OWNER" }]);
    // The memberships went with it in the database.
    const left = await get().database.db.selectFrom("memberships").select("id").where("organizationId", "=", acct.orgId).execute();
    expect(left).toEqual([]);
  });
});

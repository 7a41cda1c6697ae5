import { type Role, contractEntries, isPublic } from "@reachbell/contract";
import { beforeAll, expect, it } from "vitest";
import { addMember, withoutRequestId } from "./fixtures";
import { type Account, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("organizations: failures", (get) => {
  let owner: Account;
  let intruder: Account;
  let ownerMemberId: string;

  beforeAll(async () => {
    owner = await registerAccount(get(), "victim");
    intruder = await registerAccount(get(), "intruder");
    const members = await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token });
    ownerMemberId = members.body.data[0].id;
  });

  /** Every organization-scoped route, for one org id and a member id inside it. */
  const orgRoutes = (orgId: string, memberId: string) =>
    [
      ["GET", `/organizations/${orgId}`, undefined],
      ["PATCH", `/organizations/${orgId}`, { name: "Pwned" }],
      ["DELETE", `/organizations/${orgId}`, undefined],
      ["GET", `/organizations/${orgId}/members`, undefined],
      ["POST", `/organizations/${orgId}/members`, { email: "someone@example.test", role: "OWNER" }],
      ["PATCH", `/organizations/${orgId}/members/${memberId}`, { role: "VIEWER" }],
      ["DELETE", `/organizations/${orgId}/members/${memberId}`, undefined],
    ] as const;

  it("another user's organization is 404 Organization not found on every route, exactly like one that does not exist", async () => {
    const missing = "org_01J0000000000000000000000Z";
    for (const [method, path, body] of orgRoutes(owner.orgId, ownerMemberId)) {
      const res = await call(get(), method, path, { token: intruder.token, ...(body ? { body } : {}) });
      const env = expectEnvelope(res, 404, "Organization not found");
      const ghostPath = path.replace(owner.orgId, missing);
      const ghost = await call(get(), method, ghostPath, { token: intruder.token, ...(body ? { body } : {}) });
      expect(withoutRequestId(expectEnvelope(ghost, 404, "Organization not found"))).toEqual(withoutRequestId(env));
    }
    // Nothing happened to it.
    const got = await call(get(), "GET", `/organizations/${owner.orgId}`, { token: owner.token });
    expect(got.status).toBe(200);
    expect(got.body.name).toBe("Org victim");
    const members = await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token });
    expect(members.body.data.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual([[ownerMemberId, "OWNER"]]);
  });

  it("a malformed organization id is also just 404", async () => {
    for (const id of ["nope", "org_%27%20or%201%3D1--", encodeURIComponent("org_x'; drop table users;--")]) {
      expectEnvelope(await call(get(), "GET", `/organizations/${id}`, { token: intruder.token }), 404, "Organization not found");
    }
  });

  it("every organization route needs a token", async () => {
    for (const [method, path, body] of [...orgRoutes(owner.orgId, ownerMemberId), ["GET", "/organizations", undefined], ["POST", "/organizations", { name: "X" }]] as const) {
      expectEnvelope(await call(get(), method, path, body ? { body } : {}), 401, "Authentication required");
    }
  });

  for (const role of ["ADMIN", "MEMBER", "VIEWER"] as const satisfies readonly Role[]) {
    it(`${role} cannot rename or delete the organization (403)`, async () => {
      const org = await registerAccount(get(), `org-${role}`);
      const { account } = await addMember(get(), org, role);
      expectEnvelope(
        await call(get(), "PATCH", `/organizations/${org.orgId}`, { token: account.token, body: { name: "Mine now" } }),
        403,
        "Your role does not allow this action",
      );
      expectEnvelope(await call(get(), "DELETE", `/organizations/${org.orgId}`, { token: account.token }), 403, "Your role does not allow this action");
      // They can still read it, and it is unchanged.
      const got = await call(get(), "GET", `/organizations/${org.orgId}`, { token: account.token });
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ name: `Org org-${role}`, role });
    });
  }

  it("a blank or missing name is 422 naming name", async () => {
    for (const body of [{ name: "" }, { name: "   " }, {}, { name: 7 }, { name: "x".repeat(201) }]) {
      const res = await call(get(), "POST", "/organizations", { token: owner.token, body });
      expect(expectEnvelope(res, 422, "Validation failed").errors.map((e: { path: string }) => e.path)).toEqual(["name"]);
    }
    const rename = await call(get(), "PATCH", `/organizations/${owner.orgId}`, { token: owner.token, body: { name: " " } });
    expect(expectEnvelope(rename, 422).errors.map((e: { path: string }) => e.path)).toEqual(["name"]);
  });

  it("limit outside 1..100 or not a number is 422 naming limit", async () => {
    for (const limit of ["0", "101", "abc", "-1", "1.5"]) {
      const res = await call(get(), "GET", `/organizations?limit=${limit}`, { token: owner.token });
      expect(expectEnvelope(res, 422).errors.map((e: { path: string }) => e.path)).toEqual(["limit"]);
    }
    expect((await call(get(), "GET", "/organizations?limit=100", { token: owner.token })).status).toBe(200);
  });

  it("a cursor that points nowhere yields an empty page, not an error", async () => {
    const res = await call(get(), "GET", `/organizations?cursor=${Buffer.from("org_ZZZZZZZZZZZZZZZZZZZZZZZZZZ").toString("base64url")}`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], nextCursor: null });
  });
});

/** Procedures whose organization comes from the `x-org-id` header (SPEC §2.1), from the contract itself. */
const headerScoped = contractEntries().filter(([, def]) => !isPublic(def.meta.auth) && def.meta.auth.accepts.includes("member") && def.meta.auth.orgFrom !== "input");

describeEachDb("x-org-id header", (get) => {
  const concrete = (path: string) => path.replace(/\{(.+?)\}/g, (_, name: string) => `${name}_01J0000000000000000000000`);
  const hasBody = (method: string) => method !== "GET" && method !== "DELETE";
  const run = headerScoped.length > 0 ? it : it.skip;

  run(`organization-scoped routes need it: 403 without, 404 for an organization that is not mine (${headerScoped.length} routes)`, async () => {
    const me = await registerAccount(get(), "hdr");
    const other = await registerAccount(get(), "hdr-other");
    for (const [name, def] of headerScoped) {
      const { method, path } = def.meta.rest;
      const base = { token: me.token, ...(hasBody(method) ? { body: {} } : {}) };
      expectEnvelope(await call(get(), method, concrete(path), base), 403, "Missing x-org-id header");
      const foreign = await call(get(), method, concrete(path), { ...base, orgId: other.orgId });
      const missing = await call(get(), method, concrete(path), { ...base, orgId: "org_01J0000000000000000000000Z" });
      const a = expectEnvelope(foreign, 404, "Organization not found");
      expect(withoutRequestId(expectEnvelope(missing, 404, "Organization not found")), name).toEqual(withoutRequestId(a));
    }
  });

  run("with my organization in x-org-id, a list route answers 200", async () => {
    const me = await registerAccount(get(), "hdr-ok");
    const lists = headerScoped.filter(([, def]) => def.meta.rest.method === "GET" && !def.meta.rest.path.includes("{"));
    expect(lists.length).toBeGreaterThan(0);
    for (const [name, def] of lists) {
      const res = await call(get(), "GET", def.meta.rest.path, { token: me.token, orgId: me.orgId });
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
});

import { beforeAll, expect, it } from "vitest";
import { addMember, memberIdOf } from "./fixtures";
import { type Account, call, describeEachDb, expectEnvelope, registerAccount, uniqueEmail } from "./support";

const INSUFFICIENT = "Your role does not allow this action";

describeEachDb("members: failures", (get) => {
  let owner: Account;
  let ownerMemberId: string;
  const members = (orgId = owner.orgId) => `/organizations/${orgId}/members`;
  const roles = async () => {
    const res = await call(get(), "GET", `${members()}?limit=100`, { token: owner.token });
    return Object.fromEntries(res.body.data.map((m: { id: string; role: string }) => [m.id, m.role]));
  };

  beforeAll(async () => {
    owner = await registerAccount(get(), "boss");
    ownerMemberId = await memberIdOf(get(), owner.token, owner.orgId, owner.userId);
  });

  it("adding an unknown email is 404", async () => {
    const res = await call(get(), "POST", members(), { token: owner.token, body: { email: uniqueEmail("nobody"), role: "MEMBER" } });
    expectEnvelope(res, 404, "No user with that email");
  });

  it("adding someone already a member is 409 (also yourself, also in another case)", async () => {
    const { account } = await addMember(get(), owner, "MEMBER", { tag: "twice" });
    const before = await roles();
    for (const email of [account.email, account.email.toUpperCase(), owner.email]) {
      const res = await call(get(), "POST", members(), { token: owner.token, body: { email, role: "ADMIN" } });
      expectEnvelope(res, 409, "User is already a member of this organization");
    }
    expect(await roles()).toEqual(before);
  });

  it("the last OWNER cannot be demoted or removed (409) and stays OWNER", async () => {
    const solo = await registerAccount(get(), "solo");
    const soloId = await memberIdOf(get(), solo.token, solo.orgId, solo.userId);
    for (const role of ["ADMIN", "MEMBER", "VIEWER"]) {
      const res = await call(get(), "PATCH", `${members(solo.orgId)}/${soloId}`, { token: solo.token, body: { role } });
      expectEnvelope(res, 409, "An organization must keep at least one OWNER");
    }
    expectEnvelope(await call(get(), "DELETE", `${members(solo.orgId)}/${soloId}`, { token: solo.token }), 409, "An organization must keep at least one OWNER");
    const list = await call(get(), "GET", members(solo.orgId), { token: solo.token });
    expect(list.body.data.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual([[soloId, "OWNER"]]);
  });

  it("the last OWNER stays protected when other non-owner members exist", async () => {
    await addMember(get(), owner, "ADMIN", { tag: "adm" });
    expectEnvelope(await call(get(), "PATCH", `${members()}/${ownerMemberId}`, { token: owner.token, body: { role: "ADMIN" } }), 409);
    expectEnvelope(await call(get(), "DELETE", `${members()}/${ownerMemberId}`, { token: owner.token }), 409);
    expect((await roles())[ownerMemberId]).toBe("OWNER");
  });

  it("a VIEWER can read but every write is 403", async () => {
    const { account: viewer, memberId } = await addMember(get(), owner, "VIEWER", { tag: "viewer" });
    const target = await registerAccount(get(), "target");
    expect((await call(get(), "GET", members(), { token: viewer.token })).status).toBe(200);
    expect((await call(get(), "GET", `/organizations/${owner.orgId}`, { token: viewer.token })).status).toBe(200);
    const before = await roles();
    const writes = [
      ["POST", members(), { email: target.email, role: "VIEWER" }],
      ["PATCH", `${members()}/${memberId}`, { role: "OWNER" }],
      ["PATCH", `${members()}/${ownerMemberId}`, { role: "VIEWER" }],
      ["DELETE", `${members()}/${ownerMemberId}`, undefined],
      ["DELETE", `${members()}/${memberId}`, undefined],
      ["PATCH", `/organizations/${owner.orgId}`, { name: "Viewer was here" }],
      ["DELETE", `/organizations/${owner.orgId}`, undefined],
    ] as const;
    for (const [method, path, body] of writes) {
      expectEnvelope(await call(get(), method, path, { token: viewer.token, ...(body ? { body } : {}) }), 403, INSUFFICIENT);
    }
    expect(await roles()).toEqual(before);
    expect((await call(get(), "GET", `/organizations/${owner.orgId}`, { token: owner.token })).body.name).toBe("Org boss");
  });

  for (const role of ["MEMBER", "ADMIN"] as const) {
    it(`a ${role} cannot manage members (403), not even promote themselves`, async () => {
      const { account, memberId } = await addMember(get(), owner, role, { tag: role.toLowerCase() });
      const target = await registerAccount(get(), `target-${role}`);
      const before = await roles();
      expectEnvelope(await call(get(), "POST", members(), { token: account.token, body: { email: target.email, role: "VIEWER" } }), 403, INSUFFICIENT);
      expectEnvelope(await call(get(), "PATCH", `${members()}/${memberId}`, { token: account.token, body: { role: "OWNER" } }), 403, INSUFFICIENT);
      expectEnvelope(await call(get(), "PATCH", `${members()}/${ownerMemberId}`, { token: account.token, body: { role: "VIEWER" } }), 403, INSUFFICIENT);
      expectEnvelope(await call(get(), "DELETE", `${members()}/${ownerMemberId}`, { token: account.token }), 403, INSUFFICIENT);
      expect(await roles()).toEqual(before);
      // Reading is allowed.
      expect((await call(get(), "GET", members(), { token: account.token })).status).toBe(200);
    });
  }

  it("a member id from another organization is 404 Member not found, and that member is untouched", async () => {
    const elsewhere = await registerAccount(get(), "elsewhere");
    const foreignId = await memberIdOf(get(), elsewhere.token, elsewhere.orgId, elsewhere.userId);
    expectEnvelope(await call(get(), "PATCH", `${members()}/${foreignId}`, { token: owner.token, body: { role: "VIEWER" } }), 404, "Member not found");
    expectEnvelope(await call(get(), "DELETE", `${members()}/${foreignId}`, { token: owner.token }), 404, "Member not found");
    expect((await call(get(), "GET", `/organizations/${elsewhere.orgId}`, { token: elsewhere.token })).body.role).toBe("OWNER");
    expectEnvelope(await call(get(), "PATCH", `${members()}/mem_01J00000000000000000000000`, { token: owner.token, body: { role: "VIEWER" } }), 404, "Member not found");
  });

  it("bad role or email is 422 naming the field", async () => {
    const target = await registerAccount(get(), "badrole");
    const badRole = await call(get(), "POST", members(), { token: owner.token, body: { email: target.email, role: "SUPERUSER" } });
    expect(expectEnvelope(badRole, 422).errors.map((e: { path: string }) => e.path)).toEqual(["role"]);
    const lower = await call(get(), "POST", members(), { token: owner.token, body: { email: target.email, role: "admin" } });
    expect(expectEnvelope(lower, 422).errors.map((e: { path: string }) => e.path)).toEqual(["role"]);
    const badEmail = await call(get(), "POST", members(), { token: owner.token, body: { email: "nope", role: "ADMIN" } });
    expect(expectEnvelope(badEmail, 422).errors.map((e: { path: string }) => e.path)).toEqual(["email"]);
    const missing = await call(get(), "POST", members(), { token: owner.token, body: {} });
    expect(expectEnvelope(missing, 422).errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "role"]);
    const patch = await call(get(), "PATCH", `${members()}/${ownerMemberId}`, { token: owner.token, body: { role: "KING" } });
    expect(expectEnvelope(patch, 422).errors.map((e: { path: string }) => e.path)).toEqual(["role"]);
  });
});

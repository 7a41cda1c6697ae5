import { expect, it } from "vitest";
import { addMember, memberIdOf } from "./fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describeEachDb("members: happy paths", (get) => {
  it("GET lists the members with their user details", async () => {
    const owner = await registerAccount(get(), "lister");
    const res = await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: [
        {
          id: expect.stringMatching(/^mem_[0-9A-Z]{26}$/),
          organizationId: owner.orgId,
          userId: owner.userId,
          email: owner.email,
          name: "Name lister",
          role: "OWNER",
          createdAt: expect.stringMatching(ISO),
        },
      ],
      nextCursor: null,
    });
  });

  it("POST adds an existing user by email with a role (201); they then see the organization", async () => {
    const owner = await registerAccount(get(), "adder");
    const invitee = await registerAccount(get(), "invitee");
    const res = await call(get(), "POST", `/organizations/${owner.orgId}/members`, {
      token: owner.token,
      body: { email: invitee.email.toUpperCase(), role: "ADMIN" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^mem_/),
      organizationId: owner.orgId,
      userId: invitee.userId,
      email: invitee.email,
      name: "Name invitee",
      role: "ADMIN",
      createdAt: expect.stringMatching(ISO),
    });
    const me = await call(get(), "GET", "/auth/me", { token: invitee.token });
    expect(me.body.organizations).toEqual(
      expect.arrayContaining([
        { id: invitee.orgId, name: "Org invitee", role: "OWNER" },
        { id: owner.orgId, name: "Org adder", role: "ADMIN" },
      ]),
    );
    expect(me.body.organizations).toHaveLength(2);
    const list = await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token });
    expect(list.body.data.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
      [owner.userId, "OWNER"],
      [invitee.userId, "ADMIN"],
    ]);
  });

  it("members are paginated with limit and nextCursor", async () => {
    const owner = await registerAccount(get(), "pager");
    const added = [];
    for (const role of ["VIEWER", "MEMBER", "ADMIN", "OWNER"] as const) added.push(await addMember(get(), owner, role));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await call(get(), "GET", `/organizations/${owner.orgId}/members${q}`, { token: owner.token });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((m: { id: string }) => m.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    for (const a of added) expect(seen).toContain(a.memberId);
  });

  it("PATCH changes a role; the member sees the change", async () => {
    const owner = await registerAccount(get(), "changer");
    const { account, memberId } = await addMember(get(), owner, "VIEWER");
    const res = await call(get(), "PATCH", `/organizations/${owner.orgId}/members/${memberId}`, { token: owner.token, body: { role: "MEMBER" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: memberId, userId: account.userId, organizationId: owner.orgId, role: "MEMBER" });
    const got = await call(get(), "GET", `/organizations/${owner.orgId}`, { token: account.token });
    expect(got.body.role).toBe("MEMBER");
    // Promotion to OWNER grants owner powers.
    const promoted = await call(get(), "PATCH", `/organizations/${owner.orgId}/members/${memberId}`, { token: owner.token, body: { role: "OWNER" } });
    expect(promoted.body.role).toBe("OWNER");
    const renamed = await call(get(), "PATCH", `/organizations/${owner.orgId}`, { token: account.token, body: { name: "By new owner" } });
    expect(renamed.status).toBe(200);
  });

  it("DELETE removes a member; they lose access", async () => {
    const owner = await registerAccount(get(), "remover");
    const { account, memberId } = await addMember(get(), owner, "ADMIN");
    const res = await call(get(), "DELETE", `/organizations/${owner.orgId}/members/${memberId}`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: memberId, deleted: true });
    const list = await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token });
    expect(list.body.data.map((m: { id: string }) => m.id)).not.toContain(memberId);
    expectEnvelope(await call(get(), "GET", `/organizations/${owner.orgId}`, { token: account.token }), 404, "Organization not found");
    const me = await call(get(), "GET", "/auth/me", { token: account.token });
    expect(me.body.organizations.map((o: { id: string }) => o.id)).toEqual([account.orgId]);
    // Removing again: the member is gone.
    expectEnvelope(await call(get(), "DELETE", `/organizations/${owner.orgId}/members/${memberId}`, { token: owner.token }), 404, "Member not found");
    // They can be added back.
    const again = await call(get(), "POST", `/organizations/${owner.orgId}/members`, { token: owner.token, body: { email: account.email, role: "VIEWER" } });
    expect(again.status).toBe(201);
  });

  it("with two OWNERs one can be demoted (and one can leave), but never the last", async () => {
    const owner = await registerAccount(get(), "duo");
    const { account: second, memberId: secondId } = await addMember(get(), owner, "OWNER");
    const ownerId = await memberIdOf(get(), owner.token, owner.orgId, owner.userId);
    const demoted = await call(get(), "PATCH", `/organizations/${owner.orgId}/members/${ownerId}`, { token: second.token, body: { role: "ADMIN" } });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe("ADMIN");
    // Now `second` is the only OWNER.
    expectEnvelope(
      await call(get(), "PATCH", `/organizations/${owner.orgId}/members/${secondId}`, { token: second.token, body: { role: "ADMIN" } }),
      409,
      "An organization must keep at least one OWNER",
    );
    // Promote back, then the original owner removes themselves.
    expect((await call(get(), "PATCH", `/organizations/${owner.orgId}/members/${ownerId}`, { token: second.token, body: { role: "OWNER" } })).status).toBe(200);
    const left = await call(get(), "DELETE", `/organizations/${owner.orgId}/members/${ownerId}`, { token: owner.token });
    expect(left.status).toBe(200);
    expectEnvelope(await call(get(), "GET", `/organizations/${owner.orgId}`, { token: owner.token }), 404, "Organization not found");
    const list = await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: second.token });
    expect(list.body.data.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual([[secondId, "OWNER"]]);
  });

  it("an OWNER changing an OWNER to OWNER is a no-op, even when they are the last one", async () => {
    const owner = await registerAccount(get(), "noop");
    const ownerId = await memberIdOf(get(), owner.token, owner.orgId, owner.userId);
    const res = await call(get(), "PATCH", `/organizations/${owner.orgId}/members/${ownerId}`, { token: owner.token, body: { role: "OWNER" } });
    expect(res.status).toBe(200);
    expect(res.body.role).toBe("OWNER");
  });

  /** The OWNER memberships of an organization, read from the database itself. */
  const ownerRows = (orgId: string) =>
    get().database.db.selectFrom("memberships").select("id").where("organizationId", "=", orgId).where("role", "=", "OWNER").execute();

  it("concurrent demotions of the only two OWNERs leave at least one OWNER", async () => {
    for (let round = 0; round < 5; round++) {
      const owner = await registerAccount(get(), `race${round}`);
      const { account: second, memberId: secondId } = await addMember(get(), owner, "OWNER");
      const ownerId = await memberIdOf(get(), owner.token, owner.orgId, owner.userId);
      const results = await Promise.all([
        call(get(), "PATCH", `/organizations/${owner.orgId}/members/${ownerId}`, { token: owner.token, body: { role: "ADMIN" } }),
        call(get(), "PATCH", `/organizations/${owner.orgId}/members/${secondId}`, { token: second.token, body: { role: "MEMBER" } }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      expectEnvelope(results.find((r) => r.status === 409)!, 409, "An organization must keep at least one OWNER");
      expect(await ownerRows(owner.orgId)).toHaveLength(1);
    }
  });

  it("concurrent removals of the only two OWNERs leave at least one OWNER", async () => {
    for (let round = 0; round < 5; round++) {
      const owner = await registerAccount(get(), `race-rm${round}`);
      const { account: second, memberId: secondId } = await addMember(get(), owner, "OWNER");
      const ownerId = await memberIdOf(get(), owner.token, owner.orgId, owner.userId);
      const results = await Promise.all([
        call(get(), "DELETE", `/organizations/${owner.orgId}/members/${ownerId}`, { token: owner.token }),
        call(get(), "DELETE", `/organizations/${owner.orgId}/members/${secondId}`, { token: second.token }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(await ownerRows(owner.orgId)).toHaveLength(1);
    }
  });
});

import { expect, it } from "vitest";
import { addMember } from "./fixtures";
import { createProject, partnerWithTenant, projectWithKey } from "./project-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("projects: errors", (get) => {
  const create = (acct: { token: string; orgId: string }, body: unknown) => call(get(), "POST", "/projects", { token: acct.token, orgId: acct.orgId, body });

  it("422 names each invalid field", async () => {
    const owner = await registerAccount(get(), "val");
    const cases: [unknown, string][] = [
      [{ environment: "live" }, "name"],
      [{ name: "x", environment: "production" }, "environment"],
      [{ name: "x" }, "environment"],
      [{ name: "x", environment: "live", timezone: "Mars/Olympus_Mons" }, "timezone"],
      [{ name: "x", environment: "live", timezone: "+05:00" }, "timezone"],
      [{ name: "x", environment: "live", deliveryPolicy: { quietHours: { start: "25:00", end: "08:00" } } }, "deliveryPolicy.quietHours.start"],
      [{ name: "x", environment: "live", deliveryPolicy: { quietHours: { start: "8:00", end: "22:00" } } }, "deliveryPolicy.quietHours.start"],
      [{ name: "x", environment: "live", deliveryPolicy: { quietHours: { start: "22:00", end: "22:00" } } }, "deliveryPolicy.quietHours.end"],
      [{ name: "x", environment: "live", deliveryPolicy: { frequencyCap: { max: 0, windowSeconds: 3600 } } }, "deliveryPolicy.frequencyCap.max"],
      [{ name: "x", environment: "live", deliveryPolicy: { frequencyCap: { max: 1.5, windowSeconds: 3600 } } }, "deliveryPolicy.frequencyCap.max"],
      [{ name: "x", environment: "live", deliveryPolicy: { frequencyCap: { max: 3, windowSeconds: 10 } } }, "deliveryPolicy.frequencyCap.windowSeconds"],
      [{ name: "x", environment: "live", deliveryPolicy: { frequencyCap: { max: 3 } } }, "deliveryPolicy.frequencyCap.windowSeconds"],
      [{ name: "x", environment: "live", deliveryPolicy: { quietHour: null } }, "deliveryPolicy"],
    ];
    for (const [body, path] of cases) {
      const env = expectEnvelope(await create(owner, body), 422, "Validation failed");
      expect(env.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toContain(path);
    }
    expect((await call(get(), "GET", "/projects", { token: owner.token, orgId: owner.orgId })).body.data).toHaveLength(0);
  });

  it("the environment cannot be changed after creation", async () => {
    const owner = await registerAccount(get(), "env");
    const p = await createProject(get(), owner);
    const res = await call(get(), "PATCH", `/projects/${p.id}`, { token: owner.token, orgId: owner.orgId, body: { environment: "sandbox" } });
    // Unknown fields are ignored (not an error), and the environment stays.
    expect(res.status).toBe(200);
    expect(res.body.environment).toBe("live");
  });

  it("a dashboard JWT without x-org-id → 403 Missing x-org-id header", async () => {
    const owner = await registerAccount(get(), "hdr");
    expectEnvelope(await call(get(), "GET", "/projects", { token: owner.token }), 403, "Missing x-org-id header");
    expectEnvelope(await call(get(), "POST", "/projects", { token: owner.token, body: { name: "x", environment: "live" } }), 403, "Missing x-org-id header");
  });

  it("no credentials → 401; an API key → 403 (this route does not take one); a bad token → 401", async () => {
    const owner = await registerAccount(get(), "cred");
    const { apiKey, projectId } = await projectWithKey(get(), owner);
    expectEnvelope(await call(get(), "GET", "/projects"), 401, "Authentication required");
    expectEnvelope(await call(get(), "GET", `/projects/${projectId}`, { apiKey }), 403, "This route takes a dashboard JWT (Authorization: Bearer) with x-org-id, a tenant JWT, or a partner JWT with reach-tenant-id");
    expectEnvelope(await call(get(), "POST", `/projects/${projectId}/api-keys`, { apiKey, body: { name: "escalate" } }), 403, "This route takes a dashboard JWT (Authorization: Bearer) with x-org-id, a tenant JWT, or a partner JWT with reach-tenant-id");
    expectEnvelope(await call(get(), "GET", "/projects", { token: `${owner.token}x`, orgId: owner.orgId }), 401, "Invalid or expired token");
  });

  it("VIEWER and MEMBER cannot create, update or delete projects (403)", async () => {
    const owner = await registerAccount(get(), "rbac");
    const p = await createProject(get(), owner);
    for (const role of ["VIEWER", "MEMBER"] as const) {
      const m = await addMember(get(), owner, role);
      const as = { token: m.account.token, orgId: owner.orgId };
      expectEnvelope(await create(as, { name: "x", environment: "live" }), 403, "Your role does not allow this action");
      expectEnvelope(await call(get(), "PATCH", `/projects/${p.id}`, { ...as, body: { name: "x" } }), 403, "Your role does not allow this action");
      expectEnvelope(await call(get(), "DELETE", `/projects/${p.id}`, as), 403, "Your role does not allow this action");
    }
    expect((await call(get(), "GET", `/projects/${p.id}`, { token: owner.token, orgId: owner.orgId })).body.name).toBe("Site");
  });

  it("a tenant token with role VIEWER cannot create projects", async () => {
    const pt = await partnerWithTenant(get());
    expectEnvelope(await call(get(), "POST", "/projects", { token: pt.tenantToken("VIEWER"), body: { name: "x", environment: "live" } }), 403, "Your role does not allow this action");
    expectEnvelope(await call(get(), "GET", "/projects", { token: pt.partnerToken }), 403, "Missing reach-tenant-id header");
  });

  it("unknown project → 404 Project not found", async () => {
    const owner = await registerAccount(get(), "unknown");
    const as = { token: owner.token, orgId: owner.orgId };
    const missing = "proj_01HX0000000000000000000000";
    expectEnvelope(await call(get(), "GET", `/projects/${missing}`, as), 404, "Project not found");
    expectEnvelope(await call(get(), "PATCH", `/projects/${missing}`, { ...as, body: { name: "x" } }), 404, "Project not found");
    expectEnvelope(await call(get(), "DELETE", `/projects/${missing}`, as), 404, "Project not found");
  });

  it("another organization's project is 404, exactly like a missing one, for every operation", async () => {
    const alice = await registerAccount(get(), "alice");
    const mallory = await registerAccount(get(), "mallory");
    const p = await createProject(get(), alice);
    const as = { token: mallory.token, orgId: mallory.orgId };
    for (const res of [
      await call(get(), "GET", `/projects/${p.id}`, as),
      await call(get(), "PATCH", `/projects/${p.id}`, { ...as, body: { name: "pwned" } }),
      await call(get(), "DELETE", `/projects/${p.id}`, as),
      await call(get(), "GET", `/projects/${p.id}/api-keys`, as),
      await call(get(), "POST", `/projects/${p.id}/api-keys`, { ...as, body: { name: "steal" } }),
    ]) {
      expectEnvelope(res, 404, "Project not found");
    }
    expect((await call(get(), "GET", "/projects", as)).body.data).toEqual([]);
    // Naming alice's organization in x-org-id without being a member: 404 on the organization.
    expectEnvelope(await call(get(), "GET", `/projects/${p.id}`, { token: mallory.token, orgId: alice.orgId }), 404, "Organization not found");
    const still = await call(get(), "GET", `/projects/${p.id}`, { token: alice.token, orgId: alice.orgId });
    expect(still.body.name).toBe("Site");
  });

  it("another partner's tenant cannot see the project", async () => {
    const a = await partnerWithTenant(get());
    const b = await partnerWithTenant(get());
    const p = await call(get(), "POST", "/projects", { token: a.tenantToken(), body: { name: "A", environment: "live" } });
    expectEnvelope(await call(get(), "GET", `/projects/${p.body.id}`, { token: b.tenantToken() }), 404, "Project not found");
    // Partner B naming partner A's tenant: no such tenant for B.
    expectEnvelope(await call(get(), "GET", `/projects/${p.body.id}`, { token: b.partnerToken, headers: { "reach-tenant-id": a.tenantOrgId } }), 404, "Tenant not found");
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { contract, contractEntries, isPublic } from "@reachbell/contract";
import { buildOpenApiDocument } from "../src/http/openapi";
import { type TestPartner, newPartner, newTenant, partnerJwt, tenantJwt, uniqueExternalId } from "./partner-fixtures";
import { subscription } from "./project-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// The "done when": a partner creates a tenant, mints a tenant token, and that token alone
// creates a project and an API key and reads the tenant's subscribers — and nothing else.

describeEachDb("partner → tenant → project, key and subscribers", (get) => {
  let partner: TestPartner;
  let externalId: string;
  let tenantOrgId: string;

  beforeAll(async () => {
    partner = await newPartner(get(), "Acme Platform");
    externalId = uniqueExternalId("acme");
  });

  it("a partner creates a tenant (201): an organization it owns, addressed by its externalId", async () => {
    const res = await call(get(), "POST", "/partner/tenants", { token: await partnerJwt(partner), body: { externalId, name: "  Acme Bakery  " } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^org_/),
      name: "Acme Bakery",
      plan: "FREE",
      partnerId: partner.partnerId,
      externalId,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
    tenantOrgId = res.body.id;
  });

  it("the same externalId again for the same partner is 409; another partner may use it", async () => {
    const again = await call(get(), "POST", "/partner/tenants", { token: await partnerJwt(partner), body: { externalId, name: "Dup" } });
    expectEnvelope(again, 409, "This partner already has a tenant with that externalId");
    const other = await newPartner(get(), "Other Platform");
    const res = await call(get(), "POST", "/partner/tenants", { token: await partnerJwt(other), body: { externalId, name: "Same id, other partner" } });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(tenantOrgId);
  });

  it("the partner reads the tenant by id and by externalId, renames it, and lists and searches its tenants", async () => {
    const token = await partnerJwt(partner);
    const byId = await call(get(), "GET", `/partner/tenants/${tenantOrgId}`, { token });
    const byExt = await call(get(), "GET", `/partner/tenants/${encodeURIComponent(externalId)}`, { token });
    expect(byId.status).toBe(200);
    expect(byExt.body).toEqual(byId.body);

    const renamed = await call(get(), "PATCH", `/partner/tenants/${externalId}`, { token, body: { name: "Acme Bakery & Co" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: tenantOrgId, name: "Acme Bakery & Co", externalId });

    const second = await newTenant(get(), partner, uniqueExternalId("zeta"), "Zeta Florist");
    const all = await call(get(), "GET", "/partner/tenants", { token });
    expect(all.status).toBe(200);
    expect(all.body.data.map((t: { id: string }) => t.id)).toEqual([tenantOrgId, second.id]);
    expect(all.body.nextCursor).toBeNull();

    const page1 = await call(get(), "GET", "/partner/tenants?limit=1", { token });
    expect(page1.body.data).toHaveLength(1);
    const page2 = await call(get(), "GET", `/partner/tenants?limit=1&cursor=${page1.body.nextCursor}`, { token });
    expect(page2.body.data.map((t: { id: string }) => t.id)).toEqual([second.id]);
    expect(page2.body.nextCursor).toBeNull();

    const byName = await call(get(), "GET", "/partner/tenants?search=FLORIST", { token });
    expect(byName.body.data.map((t: { id: string }) => t.id)).toEqual([second.id]);
    const byExternal = await call(get(), "GET", `/partner/tenants?search=${externalId.slice(0, 8).toUpperCase()}`, { token });
    expect(byExternal.body.data.map((t: { id: string }) => t.id)).toContain(tenantOrgId);
    // LIKE wildcards in a search term match themselves.
    expect((await call(get(), "GET", "/partner/tenants?search=%25", { token })).body.data).toEqual([]);
    expect((await call(get(), "GET", "/partner/tenants?search=_", { token })).body.data).toEqual([]);
  });

  it("a tenant token alone creates a project, an API key, and reads the tenant's subscribers", async () => {
    const token = await tenantJwt(partner, externalId);

    const project = await call(get(), "POST", "/projects", { token, body: { name: "Bakery site", environment: "live" } });
    expect(project.status).toBe(201);
    expect(project.body.organizationId).toBe(tenantOrgId);

    const key = await call(get(), "POST", `/projects/${project.body.id}/api-keys`, { token, body: { name: "backend" } });
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(/^rb_live_/);

    // The website registers a visitor with the key; the tenant reads it back.
    const sub = await call(get(), "POST", "/subscribers", { apiKey: key.body.key, body: subscription() });
    expect(sub.status).toBe(201);
    const list = await call(get(), "GET", `/subscribers/project/${project.body.id}`, { token });
    expect(list.status).toBe(200);
    expect(list.body.data.map((s: { id: string }) => s.id)).toEqual([sub.body.id]);
    const one = await call(get(), "GET", `/subscribers/${sub.body.id}`, { token });
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(sub.body.id);

    const projects = await call(get(), "GET", "/projects", { token });
    expect(projects.body.data.map((p: { id: string }) => p.id)).toEqual([project.body.id]);
  });

  it("…and nothing else: partner routes, organizations, members and /auth/me refuse it; other tenants' data is not found", async () => {
    const token = await tenantJwt(partner, externalId);
    for (const [method, path, takes] of [
      ["GET", "/partner/tenants", "a partner JWT (Authorization: Bearer)"],
      ["POST", "/partner/tenants", "a partner JWT (Authorization: Bearer)"],
      ["GET", `/partner/tenants/${tenantOrgId}`, "a partner JWT (Authorization: Bearer)"],
      ["GET", "/auth/me", "a dashboard JWT (Authorization: Bearer)"],
      ["GET", "/organizations", "a dashboard JWT (Authorization: Bearer)"],
      ["GET", `/organizations/${tenantOrgId}`, "a dashboard JWT (Authorization: Bearer) of a member of the organization"],
      ["GET", `/organizations/${tenantOrgId}/members`, "a dashboard JWT (Authorization: Bearer) of a member of the organization"],
    ] as const) {
      const res = await call(get(), method, path, { token, ...(method === "POST" ? { body: { externalId: "x", name: "x" } } : {}) });
      expectEnvelope(res, 403, `This route takes ${takes}`);
    }
    // A dashboard user's project, seen from the tenant: not found, never a hint that it exists.
    const owner = await registerAccount(get(), "dash");
    const theirs = await call(get(), "POST", "/projects", { token: owner.token, orgId: owner.orgId, body: { name: "Theirs", environment: "live" } });
    expect(theirs.status).toBe(201);
    expectEnvelope(await call(get(), "GET", `/projects/${theirs.body.id}`, { token }), 404);
    expectEnvelope(await call(get(), "GET", `/subscribers/project/${theirs.body.id}`, { token }), 404);
    expectEnvelope(await call(get(), "POST", `/projects/${theirs.body.id}/api-keys`, { token, body: { name: "x" } }), 404);
    // x-org-id does not move a tenant token to another organization.
    const withHeader = await call(get(), "GET", "/projects", { token, orgId: owner.orgId });
    expect(withHeader.body.data.every((p: { organizationId: string }) => p.organizationId === tenantOrgId)).toBe(true);
  });

  it("the tenant role is honoured: a VIEWER tenant token reads but cannot create projects", async () => {
    const token = await tenantJwt(partner, externalId, { role: "VIEWER" });
    expect((await call(get(), "GET", "/projects", { token })).status).toBe(200);
    expectEnvelope(await call(get(), "POST", "/projects", { token, body: { name: "No", environment: "live" } }), 403, "Your role does not allow this action");
  });

  it("a partner token acts on a tenant named by reach-tenant-id (its id or externalId), and needs the header", async () => {
    const token = await partnerJwt(partner);
    const byExt = await call(get(), "GET", "/projects", { token, headers: { "reach-tenant-id": externalId } });
    const byId = await call(get(), "GET", "/projects", { token, headers: { "reach-tenant-id": tenantOrgId } });
    expect(byExt.status).toBe(200);
    expect(byExt.body.data.length).toBe(1);
    expect(byId.body).toEqual(byExt.body);

    expectEnvelope(await call(get(), "GET", "/projects", { token }), 403, "Missing reach-tenant-id header");
    expectEnvelope(await call(get(), "GET", "/projects", { token, headers: { "reach-tenant-id": "no-such-tenant" } }), 404, "Tenant not found");
  });

  it("a tenant token naming a tenant that does not exist is 404 Tenant not found", async () => {
    const token = await tenantJwt(partner, "never-created");
    expectEnvelope(await call(get(), "GET", "/projects", { token }), 404, "Tenant not found");
  });

  it("another partner's tenant is 404 on every partner route", async () => {
    const other = await newPartner(get(), "Intruder");
    const token = await partnerJwt(other);
    for (const ref of [tenantOrgId, externalId]) {
      expectEnvelope(await call(get(), "GET", `/partner/tenants/${ref}`, { token }), 404, "Tenant not found");
      expectEnvelope(await call(get(), "PATCH", `/partner/tenants/${ref}`, { token, body: { name: "Mine now" } }), 404, "Tenant not found");
    }
    // Its list holds only its own tenants (here: the one with the same externalId made above, if any).
    const list = await call(get(), "GET", "/partner/tenants", { token });
    expect(list.body.data.map((t: { id: string }) => t.id)).not.toContain(tenantOrgId);
    const res = await call(get(), "GET", "/projects", { token, headers: { "reach-tenant-id": tenantOrgId } });
    expectEnvelope(res, 404, "Tenant not found");
  });

  it("changing a tenant's externalId retires tokens that name the old one; a clash is 409", async () => {
    const t = await newTenant(get(), partner, uniqueExternalId("move"));
    const oldToken = await tenantJwt(partner, t.externalId);
    expect((await call(get(), "GET", "/projects", { token: oldToken })).status).toBe(200);
    const newExt = uniqueExternalId("moved");
    const res = await call(get(), "PATCH", `/partner/tenants/${t.id}`, { token: await partnerJwt(partner), body: { externalId: newExt } });
    expect(res.status).toBe(200);
    expect(res.body.externalId).toBe(newExt);
    expectEnvelope(await call(get(), "GET", "/projects", { token: oldToken }), 404, "Tenant not found");
    expect((await call(get(), "GET", "/projects", { token: await tenantJwt(partner, newExt) })).status).toBe(200);
    const clash = await call(get(), "PATCH", `/partner/tenants/${t.id}`, { token: await partnerJwt(partner), body: { externalId } });
    expectEnvelope(clash, 409, "This partner already has a tenant with that externalId");
  });

  it("invalid tenant fields are 422 naming them", async () => {
    const token = await partnerJwt(partner);
    const res = await call(get(), "POST", "/partner/tenants", { token, body: { externalId: "has/slash", name: "" } });
    const body = expectEnvelope(res, 422);
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["externalId", "name"]);
  });

  it("the same procedures answer under /api (the partner documentation's tenant routes)", async () => {
    const token = await tenantJwt(partner, externalId);
    const plain = await call(get(), "GET", "/projects", { token });
    const prefixed = await call(get(), "GET", "/api/projects", { token });
    expect(prefixed.status).toBe(200);
    expect(prefixed.body).toEqual(plain.body);
    const tenants = await call(get(), "GET", `/api/partner/tenants/${externalId}`, { token: await partnerJwt(partner) });
    expect(tenants.status).toBe(200);
    expect(tenants.body.id).toBe(tenantOrgId);
  });
});

describe("contract and OpenAPI document", () => {
  const doc = buildOpenApiDocument();

  it("partner routes accept partner tokens only", () => {
    for (const def of Object.values(contract.partnerTenants)) expect(def.meta.auth).toEqual({ accepts: ["partner"] });
  });

  it("declares the partner and tenant JWT schemes, and lists them exactly where the contract accepts them", () => {
    expect(doc.components.securitySchemes.partnerJwt).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.tenantJwt).toMatchObject({ type: "http", scheme: "bearer" });
    for (const [name, def] of contractEntries()) {
      const op = doc.paths[def.meta.rest.path][def.meta.rest.method.toLowerCase()];
      const schemes = (op.security as Record<string, unknown>[]).map((s) => Object.keys(s)[0]);
      const accepts: readonly string[] = isPublic(def.meta.auth) ? [] : def.meta.auth.accepts;
      expect(schemes.includes("tenantJwt"), name).toBe(accepts.includes("tenant"));
      expect(schemes.includes("partnerJwt"), name).toBe(accepts.includes("partner") || accepts.includes("partnerTenant"));
      const tenantHeader = (op.parameters ?? []).find((p: { in: string; name: string }) => p.in === "header" && p.name === "reach-tenant-id");
      expect(Boolean(tenantHeader), `${name}: reach-tenant-id documented`).toBe(accepts.includes("partnerTenant"));
    }
  });

  it("names both base paths: / and /api", () => {
    expect(doc.servers.map((s: { url: string }) => s.url)).toEqual(["/", "/api"]);
  });
});

describeEachDb(
  "/api prefix: one path for everything that depends on the route",
  (get) => {
    it("/api/auth/login counts in the auth rate-limit group, together with /auth/login (the prefix is no way around the limit)", async () => {
      const body = { email: "nobody@example.test", password: "wrong password" };
      expect((await call(get(), "POST", "/auth/login", { body })).status).toBe(401);
      expect((await call(get(), "POST", "/api/auth/login", { body })).status).toBe(401);
      const third = await call(get(), "POST", "/api/auth/login", { body });
      expectEnvelope(third, 429, "Too many requests");
      expect((await call(get(), "POST", "/auth/login", { body })).status).toBe(429);
    });
  },
  { rateLimits: { default: 1000, ingest: 1000, auth: 2 } },
);

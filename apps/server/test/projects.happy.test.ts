import { publicKeyFromPrivate } from "@reachbell/push";
import { expect, it } from "vitest";
import { trpcClient } from "./fixtures";
import { createProject, partnerWithTenant } from "./project-fixtures";
import { call, describeEachDb, registerAccount } from "./support";

const PROJ = /^proj_[0-9A-Z]{26}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describeEachDb("projects: create, list, read, update, delete", (get) => {
  it("creates a project (201) with a P-256 VAPID public key, defaults and ISO timestamps", async () => {
    const owner = await registerAccount(get(), "proj");
    const res = await call(get(), "POST", "/projects", { token: owner.token, orgId: owner.orgId, body: { name: "Shop", environment: "live" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(PROJ),
      organizationId: owner.orgId,
      name: "Shop",
      environment: "live",
      timezone: "UTC",
      vapidPublicKey: expect.stringMatching(/^[A-Za-z0-9_-]{87}$/),
      deliveryPolicy: { quietHours: null, frequencyCap: null },
      rateLimits: null,
      allowedOrigins: [],
      identityVerification: false,
      identitySecretCreatedAt: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    // What a browser's applicationServerKey takes: the 65-byte uncompressed point.
    const point = Buffer.from(res.body.vapidPublicKey, "base64url");
    expect(point.length).toBe(65);
    expect(point[0]).toBe(0x04);
  });

  it("keeps the VAPID private key sealed at rest and out of every response", async () => {
    const owner = await registerAccount(get(), "vapid");
    const created = await call(get(), "POST", "/projects", { token: owner.token, orgId: owner.orgId, body: { name: "Sealed", environment: "sandbox" } });
    const row = await get().database.db.selectFrom("projects").selectAll().where("id", "=", created.body.id).executeTakeFirstOrThrow();
    // The stored value is AES-256-GCM ciphertext bound to this project; opened, it is the scalar of the public key.
    expect(row.vapidPrivateKeyEnc).toMatch(/^v1\./);
    const privateKey = get().app.deps.secrets.open(row.vapidPrivateKeyEnc, row.id);
    const d = Buffer.from(privateKey, "base64url");
    expect(d.length).toBe(32);
    expect(publicKeyFromPrivate(d)!.toString("base64url")).toBe(created.body.vapidPublicKey);
    expect(row.vapidPrivateKeyEnc).not.toContain(privateKey);
    expect(() => get().app.deps.secrets.open(row.vapidPrivateKeyEnc, "proj_other")).toThrow();
    // Nowhere in the API: create, read, list, update.
    const responses = [
      created,
      await call(get(), "GET", `/projects/${row.id}`, { token: owner.token, orgId: owner.orgId }),
      await call(get(), "GET", "/projects", { token: owner.token, orgId: owner.orgId }),
      await call(get(), "PATCH", `/projects/${row.id}`, { token: owner.token, orgId: owner.orgId, body: { name: "Renamed" } }),
    ];
    for (const r of responses) {
      expect(r.status).toBe(200 + (r === created ? 1 : 0));
      const text = JSON.stringify(r.body);
      expect(text).not.toContain(privateKey);
      expect(text).not.toContain(row.vapidPrivateKeyEnc);
      expect(text).not.toMatch(/private/i);
    }
  });

  it("each project gets its own key pair", async () => {
    const owner = await registerAccount(get(), "pairs");
    const a = await createProject(get(), owner);
    const b = await createProject(get(), owner);
    expect(a.vapidPublicKey).not.toBe(b.vapidPublicKey);
  });

  it("accepts a time zone and a delivery policy, and returns them canonically", async () => {
    const owner = await registerAccount(get(), "policy");
    const res = await call(get(), "POST", "/projects", {
      token: owner.token,
      orgId: owner.orgId,
      body: {
        name: "Policy",
        environment: "sandbox",
        timezone: "europe/paris",
        deliveryPolicy: { quietHours: { start: "22:00", end: "08:00" }, frequencyCap: { max: 3, windowSeconds: 3600 } },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.timezone).toBe("Europe/Paris");
    expect(res.body.environment).toBe("sandbox");
    expect(res.body.deliveryPolicy).toEqual({ quietHours: { start: "22:00", end: "08:00" }, frequencyCap: { max: 3, windowSeconds: 3600 } });
  });

  it("reads one project and lists the organization's projects with cursor pagination", async () => {
    const owner = await registerAccount(get(), "list");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createProject(get(), owner, { name: `P${i}` })).id);
    const one = await call(get(), "GET", `/projects/${ids[2]}`, { token: owner.token, orgId: owner.orgId });
    expect(one.status).toBe(200);
    expect(one.body.name).toBe("P2");

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await call(get(), "GET", `/projects?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: owner.token, orgId: owner.orgId });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });

  it("updates name, time zone and delivery policy; keys left out of the policy are kept, null clears", async () => {
    const owner = await registerAccount(get(), "upd");
    const p = await createProject(get(), owner, { deliveryPolicy: { quietHours: { start: "23:30", end: "06:00" } } });
    const patch = (body: Record<string, unknown>) => call(get(), "PATCH", `/projects/${p.id}`, { token: owner.token, orgId: owner.orgId, body });

    let res = await patch({ name: "New name", timezone: "America/New_York" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "New name", timezone: "America/New_York", environment: "live", vapidPublicKey: p.vapidPublicKey });
    expect(res.body.deliveryPolicy).toEqual({ quietHours: { start: "23:30", end: "06:00" }, frequencyCap: null });

    res = await patch({ deliveryPolicy: { frequencyCap: { max: 5, windowSeconds: 86400 } } });
    expect(res.body.deliveryPolicy).toEqual({ quietHours: { start: "23:30", end: "06:00" }, frequencyCap: { max: 5, windowSeconds: 86400 } });

    res = await patch({ deliveryPolicy: { quietHours: null } });
    expect(res.body.deliveryPolicy).toEqual({ quietHours: null, frequencyCap: { max: 5, windowSeconds: 86400 } });

    const again = await call(get(), "GET", `/projects/${p.id}`, { token: owner.token, orgId: owner.orgId });
    expect(again.body).toEqual(res.body);
  });

  it("deletes a project (then 404) and its API keys stop working at once", async () => {
    const owner = await registerAccount(get(), "del");
    const p = await createProject(get(), owner);
    const key = await call(get(), "POST", `/projects/${p.id}/api-keys`, { token: owner.token, orgId: owner.orgId, body: { name: "k" } });
    // Warm the key cache, then delete.
    expect((await call(get(), "GET", `/subscribers/project/${p.id}`, { apiKey: key.body.key })).status).toBe(200);
    const del = await call(get(), "DELETE", `/projects/${p.id}`, { token: owner.token, orgId: owner.orgId });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: p.id, deleted: true });
    expect((await call(get(), "GET", `/projects/${p.id}`, { token: owner.token, orgId: owner.orgId })).status).toBe(404);
    const after = await call(get(), "GET", `/subscribers/project/${p.id}`, { apiKey: key.body.key });
    expect(after.status).toBe(401);
    expect(after.body.message).toBe("Invalid API key");
  });

  it("VIEWER reads; ADMIN writes", async () => {
    const owner = await registerAccount(get(), "roles");
    const { addMember } = await import("./fixtures");
    const viewer = await addMember(get(), owner, "VIEWER");
    const admin = await addMember(get(), owner, "ADMIN");
    const p = await createProject(get(), owner);
    const asViewer = await call(get(), "GET", `/projects/${p.id}`, { token: viewer.account.token, orgId: owner.orgId });
    expect(asViewer.status).toBe(200);
    expect((await call(get(), "GET", "/projects", { token: viewer.account.token, orgId: owner.orgId })).body.data).toHaveLength(1);
    const created = await call(get(), "POST", "/projects", { token: admin.account.token, orgId: owner.orgId, body: { name: "By admin", environment: "live" } });
    expect(created.status).toBe(201);
    expect((await call(get(), "PATCH", `/projects/${p.id}`, { token: admin.account.token, orgId: owner.orgId, body: { name: "x" } })).status).toBe(200);
    expect((await call(get(), "DELETE", `/projects/${created.body.id}`, { token: admin.account.token, orgId: owner.orgId })).status).toBe(200);
  });

  it("tenant tokens and partner tokens with reach-tenant-id act on the tenant's projects", async () => {
    const pt = await partnerWithTenant(get());
    const asTenant = await call(get(), "POST", "/projects", { token: pt.tenantToken(), body: { name: "Tenant site", environment: "live" } });
    expect(asTenant.status).toBe(201);
    expect(asTenant.body.organizationId).toBe(pt.tenantOrgId);
    const viaPartner = await call(get(), "GET", `/projects/${asTenant.body.id}`, { token: pt.partnerToken, headers: { "reach-tenant-id": pt.tenantExternalId } });
    expect(viaPartner.status).toBe(200);
    const keys = await call(get(), "POST", `/projects/${asTenant.body.id}/api-keys`, { token: pt.partnerToken, headers: { "reach-tenant-id": pt.tenantOrgId }, body: { name: "k" } });
    expect(keys.status).toBe(201);
    const list = await call(get(), "GET", "/projects", { token: pt.tenantToken("VIEWER") });
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([asTenant.body.id]);
  });

  it("is served over tRPC with the same bodies", async () => {
    const owner = await registerAccount(get(), "trpc");
    const client = trpcClient(get(), owner.token, { headers: { "x-org-id": owner.orgId } });
    const created = await client.projects.create.mutate({ name: "Via tRPC", environment: "live" });
    const viaRest = await call(get(), "GET", `/projects/${created.id}`, { token: owner.token, orgId: owner.orgId });
    expect(await client.projects.get.query({ projectId: created.id })).toEqual(viaRest.body);
    const key = await client.apiKeys.create.mutate({ projectId: created.id, name: "trpc key" });
    expect(key.key.startsWith("rb_live_")).toBe(true);
  });
});

import { hashApiKey, mintApiKey } from "@reachbell/auth";
import type { Database } from "@reachbell/db";
import { describe, expect, it } from "vitest";
import { ApiKeyVerifier } from "../src/auth/api-key-verifier";
import { LocalInvalidationBus } from "../src/auth/invalidation-bus";
import { addMember } from "./fixtures";
import { createKey, createProject, projectWithKey, registerSub, subscription } from "./project-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("api keys: authentication and scope", (get) => {
  it("unknown, malformed, empty-looking and revoked keys → 401 Invalid API key", async () => {
    const owner = await registerAccount(get(), "bad");
    const { projectId, apiKey, keyId } = await projectWithKey(get(), owner);
    for (const key of [mintApiKey("live"), mintApiKey("sandbox"), "rb_live_short", "not-a-key", `${apiKey}x`, apiKey.replace("rb_live_", "rb_test_")]) {
      expectEnvelope(await call(get(), "GET", `/subscribers/project/${projectId}`, { apiKey: key }), 401, "Invalid API key");
      expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey: key, body: subscription() }), 401, "Invalid API key");
    }
    await call(get(), "DELETE", `/projects/${projectId}/api-keys/${keyId}`, { token: owner.token, orgId: owner.orgId });
    expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body: subscription() }), 401, "Invalid API key");
  });

  it("an API key naming another project, in the path or the body, existing or not → 403 Resource belongs to a different project", async () => {
    const owner = await registerAccount(get(), "xproj");
    const a = await projectWithKey(get(), owner);
    const b = await createProject(get(), owner); // same organization, other project
    const stranger = await registerAccount(get(), "stranger");
    const c = await createProject(get(), stranger); // other organization
    const missing = "proj_01HX0000000000000000000000";
    for (const other of [b.id, c.id, missing]) {
      expectEnvelope(await call(get(), "GET", `/subscribers/project/${other}`, { apiKey: a.apiKey }), 403, "Resource belongs to a different project");
      expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: { ...subscription(), projectId: other } }), 403, "Resource belongs to a different project");
    }
    // Nothing was registered anywhere.
    const rows = await get().database.db.selectFrom("subscribers").select("id").where("projectId", "in", [a.projectId, b.id, c.id]).execute();
    expect(rows).toHaveLength(0);
    // Its own project, named explicitly, is fine.
    expect((await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: { ...subscription(), projectId: a.projectId } })).status).toBe(201);
  });

  it("a key cannot manage keys or projects, even its own", async () => {
    const owner = await registerAccount(get(), "self");
    const { projectId, apiKey, keyId } = await projectWithKey(get(), owner);
    expectEnvelope(await call(get(), "GET", `/projects/${projectId}/api-keys`, { apiKey }), 403, "This route takes a dashboard JWT (Authorization: Bearer) with x-org-id, a tenant JWT, or a partner JWT with reach-tenant-id");
    expectEnvelope(await call(get(), "DELETE", `/projects/${projectId}/api-keys/${keyId}`, { apiKey }), 403, "This route takes a dashboard JWT (Authorization: Bearer) with x-org-id, a tenant JWT, or a partner JWT with reach-tenant-id");
  });

  it("VIEWER lists keys but cannot create or revoke; MEMBER cannot create or revoke; ADMIN can", async () => {
    const owner = await registerAccount(get(), "keyroles");
    const p = await createProject(get(), owner);
    const k = await createKey(get(), owner, p.id);
    const viewer = await addMember(get(), owner, "VIEWER");
    const member = await addMember(get(), owner, "MEMBER");
    const admin = await addMember(get(), owner, "ADMIN");
    const as = (m: { account: { token: string } }) => ({ token: m.account.token, orgId: owner.orgId });
    const listed = await call(get(), "GET", `/projects/${p.id}/api-keys`, as(viewer));
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(k.key);
    for (const m of [viewer, member]) {
      expectEnvelope(await call(get(), "POST", `/projects/${p.id}/api-keys`, { ...as(m), body: { name: "x" } }), 403, "Your role does not allow this action");
      expectEnvelope(await call(get(), "DELETE", `/projects/${p.id}/api-keys/${k.id}`, as(m)), 403, "Your role does not allow this action");
    }
    expect((await call(get(), "POST", `/projects/${p.id}/api-keys`, { ...as(admin), body: { name: "by admin" } })).status).toBe(201);
    expect((await call(get(), "DELETE", `/projects/${p.id}/api-keys/${k.id}`, as(admin))).status).toBe(200);
  });

  it("revoking an unknown key, or another project's key through this project → 404 API key not found", async () => {
    const owner = await registerAccount(get(), "revoke404");
    const a = await createProject(get(), owner);
    const b = await projectWithKey(get(), owner);
    const as = { token: owner.token, orgId: owner.orgId };
    expectEnvelope(await call(get(), "DELETE", `/projects/${a.id}/api-keys/key_01HX0000000000000000000000`, as), 404, "API key not found");
    expectEnvelope(await call(get(), "DELETE", `/projects/${a.id}/api-keys/${b.keyId}`, as), 404, "API key not found");
    // b's key still works.
    expect((await call(get(), "GET", `/subscribers/project/${b.projectId}`, { apiKey: b.apiKey })).status).toBe(200);
  });

  it("another organization's project keys: list, create, revoke → 404 Project not found", async () => {
    const alice = await registerAccount(get(), "alicek");
    const mallory = await registerAccount(get(), "malloryk");
    const a = await projectWithKey(get(), alice);
    const as = { token: mallory.token, orgId: mallory.orgId };
    expectEnvelope(await call(get(), "GET", `/projects/${a.projectId}/api-keys`, as), 404, "Project not found");
    expectEnvelope(await call(get(), "POST", `/projects/${a.projectId}/api-keys`, { ...as, body: { name: "x" } }), 404, "Project not found");
    expectEnvelope(await call(get(), "DELETE", `/projects/${a.projectId}/api-keys/${a.keyId}`, as), 404, "Project not found");
    expect((await call(get(), "GET", `/subscribers/project/${a.projectId}`, { apiKey: a.apiKey })).status).toBe(200);
  });

  it("a sandbox key is refused on a live project and vice versa (each key is bound to its one project)", async () => {
    const owner = await registerAccount(get(), "envs");
    const live = await projectWithKey(get(), owner, { environment: "live" });
    const sandbox = await projectWithKey(get(), owner, { environment: "sandbox" });
    expect(sandbox.apiKey.startsWith("rb_test_")).toBe(true);
    const sub = await registerSub(get(), live.apiKey);
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: sandbox.apiKey }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "GET", `/subscribers/project/${live.projectId}`, { apiKey: sandbox.apiKey }), 403, "Resource belongs to a different project");
  });
});

describe("api key cache: revocation races", () => {
  /** A database whose key lookup resolves only when the test says so. */
  function gatedDatabase(row: Record<string, unknown>) {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const chain: any = new Proxy(
      {},
      { get: (_t, prop) => (prop === "executeTakeFirst" ? async () => (await gate, row) : prop === "then" ? undefined : () => chain) },
    );
    const database = { db: { selectFrom: () => chain } } as unknown as Database;
    return { database, release };
  }

  it("a lookup that read the key before it was revoked does not put it back in the cache", async () => {
    const key = mintApiKey("live");
    const { database, release } = gatedDatabase({ keyId: "key_1", projectId: "proj_1", orgId: "org_1", environment: "live" });
    const verifier = new ApiKeyVerifier(database, new LocalInvalidationBus(), () => new Date());
    const inFlight = verifier.verify(key); // cache miss: reads the (still valid) row
    await verifier.revoked(hashApiKey(key)); // revoked meanwhile
    release();
    expect(await inFlight).not.toBeNull(); // that request began before the revocation
    // The next lookup must go back to the database rather than trust a cached copy.
    let lookups = 0;
    (database as any).db.selectFrom = () => {
      lookups++;
      return { innerJoin: () => ({ select: () => ({ where: () => ({ where: () => ({ executeTakeFirst: async () => undefined }) }) }) }) };
    };
    expect(await verifier.verify(key)).toBeNull();
    expect(lookups).toBe(1);
    await verifier.close();
  });
});

import { expect, it } from "vitest";
import { addMember, rejection, trpcClient } from "./fixtures";
import { createKey, partnerWithTenant, projectWithKey, registerSub, subscription } from "./project-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("subscribers: cross-project and cross-organization isolation", (get) => {
  it("an API key of project A cannot touch project B's subscribers (same organization): 404 by id/token, 403 naming B", async () => {
    const owner = await registerAccount(get(), "xp");
    const a = await projectWithKey(get(), owner);
    const b = await projectWithKey(get(), owner);
    const bSub = await registerSub(get(), b.apiKey);
    await call(get(), "POST", "/subscribers/identify", { apiKey: b.apiKey, body: { token: bSub.token, externalId: "shared-user" } });

    expectEnvelope(await call(get(), "GET", `/subscribers/${bSub.id}`, { apiKey: a.apiKey }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "DELETE", `/subscribers/${bSub.id}`, { apiKey: a.apiKey }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "POST", "/subscribers/identify", { apiKey: a.apiKey, body: { token: bSub.token, externalId: "hijack" } }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey: a.apiKey, body: { token: bSub.token, add: ["x"] } }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey: a.apiKey, body: { externalId: "shared-user", add: ["x"] } }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "GET", `/subscribers/project/${b.projectId}`, { apiKey: a.apiKey }), 403, "Resource belongs to a different project");
    expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: { ...subscription(), projectId: b.projectId } }), 403, "Resource belongs to a different project");
    // A's list never includes B's subscriber, even filtered by B's user.
    expect((await call(get(), "GET", `/subscribers/project/${a.projectId}?externalId=shared-user`, { apiKey: a.apiKey })).body.data).toEqual([]);
    // B's subscriber is untouched.
    const intact = await call(get(), "GET", `/subscribers/${bSub.id}`, { apiKey: b.apiKey });
    expect(intact.body).toMatchObject({ status: "active", externalId: "shared-user", tags: [] });
  });

  it("a body projectId of a project that does not exist → 403, not 404", async () => {
    const owner = await registerAccount(get(), "nx");
    const a = await projectWithKey(get(), owner);
    expectEnvelope(
      await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: { ...subscription(), projectId: "proj_01HX0000000000000000000000" } }),
      403,
      "Resource belongs to a different project",
    );
  });

  it("a dashboard user of another organization gets 404 for subscribers and projects there", async () => {
    const alice = await registerAccount(get(), "alice");
    const mallory = await registerAccount(get(), "mallory");
    const a = await projectWithKey(get(), alice);
    const sub = await registerSub(get(), a.apiKey);
    const as = { token: mallory.token, orgId: mallory.orgId };
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, as), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "DELETE", `/subscribers/${sub.id}`, as), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "GET", `/subscribers/project/${a.projectId}`, as), 404, "Project not found");
    // Same answer as for things that do not exist at all.
    expectEnvelope(await call(get(), "GET", "/subscribers/project/proj_01HX0000000000000000000000", as), 404, "Project not found");
    expectEnvelope(await call(get(), "GET", "/subscribers/sub_01HX0000000000000000000000", as), 404, "Subscriber not found");
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: a.apiKey })).body.status).toBe("active");
  });

  it("another partner's tenant gets 404", async () => {
    const one = await partnerWithTenant(get());
    const two = await partnerWithTenant(get());
    const p = await call(get(), "POST", "/projects", { token: one.tenantToken(), body: { name: "One", environment: "live" } });
    const key = await call(get(), "POST", `/projects/${p.body.id}/api-keys`, { token: one.tenantToken(), body: { name: "k" } });
    const sub = await registerSub(get(), key.body.key);
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { token: two.tenantToken() }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "GET", `/subscribers/project/${p.body.id}`, { token: two.tenantToken() }), 404, "Project not found");
  });

  it("VIEWER may read but not unsubscribe (403); MEMBER may", async () => {
    const owner = await registerAccount(get(), "roles");
    const a = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), a.apiKey);
    const viewer = await addMember(get(), owner, "VIEWER");
    expectEnvelope(await call(get(), "DELETE", `/subscribers/${sub.id}`, { token: viewer.account.token, orgId: owner.orgId }), 403, "Your role does not allow this action");
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: a.apiKey })).body.status).toBe("active");
    const member = await addMember(get(), owner, "MEMBER");
    expect((await call(get(), "DELETE", `/subscribers/${sub.id}`, { token: member.account.token, orgId: owner.orgId })).status).toBe(200);
  });

  it("registration, identify and tags take only API keys; dashboard reads need x-org-id", async () => {
    const owner = await registerAccount(get(), "creds");
    const a = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), a.apiKey);
    const as = { token: owner.token, orgId: owner.orgId };
    expectEnvelope(await call(get(), "POST", "/subscribers", { ...as, body: subscription() }), 403, "This route takes an API key (x-api-key header)");
    expectEnvelope(await call(get(), "POST", "/subscribers/identify", { ...as, body: { token: sub.token, externalId: "u" } }), 403, "This route takes an API key (x-api-key header)");
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { ...as, body: { token: sub.token, add: ["u"] } }), 403, "This route takes an API key (x-api-key header)");
    expectEnvelope(await call(get(), "POST", "/subscribers", { body: subscription() }), 401, "Authentication required");
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { token: owner.token }), 403, "Missing x-org-id header");
  });

  it("a credential of the wrong kind is told what the route takes; an API key sent as Bearer is told where it goes; REST and tRPC alike", async () => {
    const owner = await registerAccount(get(), "kinds");
    const a = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), a.apiKey);
    const TAKES_KEY = "This route takes an API key (x-api-key header)";
    const TAKES_ORG = "This route takes a dashboard JWT (Authorization: Bearer) with x-org-id, a tenant JWT, or a partner JWT with reach-tenant-id";
    const IN_BEARER = "API keys go in the x-api-key header, not Authorization: Bearer";
    // A dashboard JWT where only an API key goes.
    expectEnvelope(await call(get(), "POST", "/subscribers", { token: owner.token, orgId: owner.orgId, body: subscription() }), 403, TAKES_KEY);
    expectEnvelope(await call(get(), "POST", "/subscribers", { token: owner.token, body: subscription() }), 403, TAKES_KEY);
    // An API key where only organization principals go.
    expectEnvelope(await call(get(), "GET", `/projects/${a.projectId}/api-keys`, { apiKey: a.apiKey }), 403, TAKES_ORG);
    expectEnvelope(await call(get(), "GET", "/organizations", { apiKey: a.apiKey }), 403, "This route takes a dashboard JWT (Authorization: Bearer)");
    // An API key (valid, unknown or sandbox-shaped) in Authorization: Bearer, on a route that takes keys or one that does not.
    for (const key of [a.apiKey, "rb_live_doesnotexist", `rb_test_${"A".repeat(32)}`]) {
      expectEnvelope(await call(get(), "POST", "/subscribers", { token: key, body: subscription() }), 401, IN_BEARER);
      expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { token: key }), 401, IN_BEARER);
      expectEnvelope(await call(get(), "GET", "/projects", { token: key, orgId: owner.orgId }), 401, IN_BEARER);
    }
    // tRPC answers the same messages.
    const asJwt = await rejection<any>(() => trpcClient(get(), owner.token, { headers: { "x-org-id": owner.orgId } }).subscribers.register.mutate(subscription()));
    expect([asJwt.data.httpStatus, asJwt.message]).toEqual([403, TAKES_KEY]);
    const asKey = await rejection<any>(() => trpcClient(get(), undefined, { headers: { "x-api-key": a.apiKey } }).projects.list.query({}));
    expect([asKey.data.httpStatus, asKey.message]).toEqual([403, TAKES_ORG]);
    const inBearer = await rejection<any>(() => trpcClient(get(), a.apiKey).subscribers.get.query({ id: sub.id }));
    expect([inBearer.data.httpStatus, inBearer.message]).toEqual([401, IN_BEARER]);
    // The seed's messages stay exactly as they are.
    expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey: "rb_live_doesnotexist", body: subscription() }), 401, "Invalid API key");
    expectEnvelope(await call(get(), "GET", "/projects", { token: "not-a-jwt", orgId: owner.orgId }), 401, "Invalid or expired token");
    expectEnvelope(await call(get(), "GET", "/projects", { token: owner.token }), 403, "Missing x-org-id header");
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { token: owner.token }), 403, "Missing x-org-id header");
    // With both headers the API key is used where the route takes one; the Bearer value is still refused when it is a key.
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: a.apiKey, token: a.apiKey }), 401, IN_BEARER);
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: a.apiKey, token: owner.token })).status).toBe(200);
  });

  it("a revoked key fails on the very next subscriber request; a second key of the project keeps working", async () => {
    const owner = await registerAccount(get(), "revoke");
    const a = await projectWithKey(get(), owner);
    const second = await createKey(get(), owner, a.projectId, "second");
    const sub = await registerSub(get(), a.apiKey);
    await call(get(), "DELETE", `/projects/${a.projectId}/api-keys/${a.keyId}`, { token: owner.token, orgId: owner.orgId });
    expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey: a.apiKey, body: subscription() }), 401, "Invalid API key");
    expectEnvelope(await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: a.apiKey }), 401, "Invalid API key");
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: second.key })).status).toBe(200);
  });
});

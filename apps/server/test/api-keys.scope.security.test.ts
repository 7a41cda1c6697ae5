import { DOMAIN_ERRORS, contractEntries, isPublic, publishableMay, subscriptionEntries } from "@reachbell/contract";
import { expect, it } from "vitest";
import { createProject, registerSub, subscription } from "./project-fixtures";
import { SHOP, createPublishableKey, fromPage, projectWithPublishableKey } from "./publishable-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// Publishable (page) keys: the contract's `publishable` rule is the whole list of what they may call,
// so the refused operations are generated from it; the allowed ones work and act only on the
// subscription the page holds (its token).

const SCOPE_MESSAGE = DOMAIN_ERRORS.PUBLISHABLE_KEY.message;
const refused = contractEntries().filter(([, d]) => !isPublic(d.meta.auth) && !publishableMay(d.meta.auth));
const allowed = contractEntries().filter(([, d]) => publishableMay(d.meta.auth));

it("the contract's publishable list is exactly what a page needs", () => {
  expect(allowed.map(([, d]) => d.meta.operationId).sort()).toEqual([
    "events.notifications",
    "sdk.config",
    "subscribers.identify",
    "subscribers.register",
    "subscribers.tags",
    "subscribers.unsubscribeByToken",
  ]);
  expect(subscriptionEntries().filter(([, d]) => publishableMay(d.meta.auth))).toEqual([]);
});

describeEachDb("api keys: publishable scope", (get) => {
  it("a key is created publishable on request (same rb_live_/rb_test_ prefixes), full by default, and lists show its scope", async () => {
    const owner = await registerAccount(get(), "scope");
    const live = await createProject(get(), owner);
    const sandbox = await createProject(get(), owner, { environment: "sandbox" });
    const pub = await createPublishableKey(get(), owner, live.id);
    expect(pub).toMatchObject({ scope: "publishable", prefix: "rb_live_", key: expect.stringMatching(/^rb_live_/) });
    expect(await createPublishableKey(get(), owner, sandbox.id)).toMatchObject({ scope: "publishable", prefix: "rb_test_", key: expect.stringMatching(/^rb_test_/) });
    const full = await call(get(), "POST", `/projects/${live.id}/api-keys`, { token: owner.token, orgId: owner.orgId, body: { name: "backend" } });
    expect(full.body.scope).toBe("full");
    const list = await call(get(), "GET", `/projects/${live.id}/api-keys`, { token: owner.token, orgId: owner.orgId });
    expect(list.body.data.map((k: { id: string; scope: string }) => [k.id, k.scope])).toEqual([
      [pub.id, "publishable"],
      [full.body.id, "full"],
    ]);
  });

  it("an unknown scope is 422 naming the field, and no key is made", async () => {
    const owner = await registerAccount(get(), "badscope");
    const project = await createProject(get(), owner);
    for (const scope of ["admin", "", 1, null]) {
      const res = await call(get(), "POST", `/projects/${project.id}/api-keys`, { token: owner.token, orgId: owner.orgId, body: { name: "k", scope } });
      expect(expectEnvelope(res, 422, "Validation failed").errors.map((e: { path: string }) => e.path)).toEqual(["scope"]);
    }
    expect((await call(get(), "GET", `/projects/${project.id}/api-keys`, { token: owner.token, orgId: owner.orgId })).body.data).toEqual([]);
  });

  it(`every operation outside the publishable list (${refused.length}, from the contract) is 403 naming the scope, with or without an Origin`, async () => {
    const owner = await registerAccount(get(), "refused");
    const { publishableKey } = await projectWithPublishableKey(get(), owner);
    const failures: string[] = [];
    for (const [, def] of refused) {
      const path = def.meta.rest.path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === "projectId" ? "proj_01HX0000000000000000000000" : `${name}_x`));
      const method = def.meta.rest.method;
      const body = method === "GET" || method === "DELETE" ? undefined : {};
      for (const headers of [{}, { origin: SHOP }] as Record<string, string>[]) {
        const res = await call(get(), method, path, { apiKey: publishableKey, headers, ...(body ? { body } : {}) });
        if (res.status !== 403 || res.body?.message !== SCOPE_MESSAGE || res.body?.requestId !== res.headers.get("x-request-id")) {
          failures.push(`${def.meta.operationId} ${method} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(refused.length).toBeGreaterThan(30);
  });

  it("the same over tRPC, including the campaign progress subscription", async () => {
    const owner = await registerAccount(get(), "trpc");
    const { projectId, publishableKey } = await projectWithPublishableKey(get(), owner);
    const list = await call(get(), "GET", `/trpc/subscribers.list?input=${encodeURIComponent(JSON.stringify({ projectId }))}`, { apiKey: publishableKey });
    expect(list.status).toBe(403);
    expect(list.body.error.message).toBe(SCOPE_MESSAGE);
    // A subscription answers over SSE: the refusal is its first (error) event.
    const progress = await call(get(), "GET", `/trpc/campaigns.progress?input=${encodeURIComponent(JSON.stringify({ campaignId: "cmp_x" }))}`, {
      apiKey: publishableKey,
      headers: { accept: "text/event-stream" },
    });
    expect(String(progress.body)).toContain("serialized-error");
    expect(String(progress.body)).toContain(SCOPE_MESSAGE);
  });

  it("a page never reads, sends or changes subscribers it does not hold: by id and by externalId are refused, nothing changes", async () => {
    const owner = await registerAccount(get(), "own");
    const { fullKey, publishableKey } = await projectWithPublishableKey(get(), owner);
    const other = await registerSub(get(), fullKey);
    await call(get(), "POST", "/subscribers/identify", { apiKey: fullKey, body: { token: other.token, externalId: "victim" } });
    await call(get(), "POST", "/subscribers/tags", { apiKey: fullKey, body: { token: other.token, add: ["vip"] } });

    expectEnvelope(await call(get(), "GET", `/subscribers/${other.id}`, fromPage(publishableKey)), 403, SCOPE_MESSAGE);
    expectEnvelope(await call(get(), "DELETE", `/subscribers/${other.id}`, fromPage(publishableKey)), 403, SCOPE_MESSAGE);
    expectEnvelope(
      await call(get(), "POST", "/subscribers/tags", fromPage(publishableKey, SHOP, { externalId: "victim", add: ["hacked"], remove: ["vip"] })),
      403,
      "This API key is publishable: address the subscriber by its token, not by externalId",
    );
    expectEnvelope(await call(get(), "POST", "/transactional/send", fromPage(publishableKey, SHOP, { externalId: "victim", title: "x", body: "y" })), 403, SCOPE_MESSAGE);

    const after = await call(get(), "GET", `/subscribers/${other.id}`, { apiKey: fullKey });
    expect(after.body).toMatchObject({ status: "active", externalId: "victim", tags: ["vip"] });
    expect(await get().database.db.selectFrom("messages").select("id").where("subscriberId", "=", other.id).execute()).toEqual([]);
  });

  it("the allowed operations work with a publishable key: config, register, identify, tags and unsubscribe by token, notification events", async () => {
    const owner = await registerAccount(get(), "allowed");
    const { projectId, project, fullKey, publishableKey } = await projectWithPublishableKey(get(), owner);
    const config = await call(get(), "GET", "/sdk/config", fromPage(publishableKey));
    expect(config.status).toBe(200);
    expect(config.body).toEqual({ projectId, vapidPublicKey: project.vapidPublicKey, sandbox: false });

    const sub = subscription();
    const registered = await call(get(), "POST", "/subscribers", fromPage(publishableKey, SHOP, sub));
    expect(registered.status).toBe(201);
    const token = registered.body.token as string;
    // The same endpoint again: the page gets its own subscriber back (holding the endpoint is holding the subscription).
    const again = await call(get(), "POST", "/subscribers", fromPage(publishableKey, SHOP, sub));
    expect(again.status).toBe(409);
    expect(again.body.subscriber.id).toBe(registered.body.id);

    expect((await call(get(), "POST", "/subscribers/identify", fromPage(publishableKey, SHOP, { token, externalId: "user-1" }))).body).toMatchObject({ externalId: "user-1" });
    expect((await call(get(), "POST", "/subscribers/tags", fromPage(publishableKey, SHOP, { token, add: ["a", "b"] }))).body).toMatchObject({ tags: ["a", "b"], matched: 1 });
    expect((await call(get(), "POST", "/subscribers/tags", fromPage(publishableKey, SHOP, { token, remove: ["b"] }))).body).toMatchObject({ tags: ["a"] });

    const sent = await call(get(), "POST", "/transactional/send", { apiKey: fullKey, body: { token, title: "Hi", body: "there" } });
    expect(sent.status).toBe(200);
    const event = await call(get(), "POST", "/events/notifications", fromPage(publishableKey, SHOP, { messageId: sent.body.messageId, token, type: "clicked" }));
    expect(event.status).toBe(200);
    expect(event.body).toEqual({ accepted: true, duplicate: false });

    const gone = await call(get(), "POST", "/subscribers/unsubscribe", fromPage(publishableKey, SHOP, { token }));
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ id: registered.body.id, status: "unsubscribed" });
    // Idempotent; an unknown token is 404 and changes nothing.
    expect((await call(get(), "POST", "/subscribers/unsubscribe", fromPage(publishableKey, SHOP, { token }))).body.status).toBe("unsubscribed");
    expectEnvelope(await call(get(), "POST", "/subscribers/unsubscribe", fromPage(publishableKey, SHOP, { token: "tok_nope" })), 404, "Subscriber not found");
  });

  it("unsubscribe by token stays inside the key's project, and full keys may use it too", async () => {
    const owner = await registerAccount(get(), "xtoken");
    const a = await projectWithPublishableKey(get(), owner);
    const b = await projectWithPublishableKey(get(), owner);
    const subB = await registerSub(get(), b.fullKey);
    expectEnvelope(await call(get(), "POST", "/subscribers/unsubscribe", fromPage(a.publishableKey, SHOP, { token: subB.token })), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "POST", "/subscribers/unsubscribe", { apiKey: a.fullKey, body: { token: subB.token } }), 404, "Subscriber not found");
    expect((await call(get(), "GET", `/subscribers/${subB.id}`, { apiKey: b.fullKey })).body.status).toBe("active");
    expect((await call(get(), "POST", "/subscribers/unsubscribe", { apiKey: b.fullKey, body: { token: subB.token } })).body.status).toBe("unsubscribed");
  });

  it("revoking a publishable key works like any key", async () => {
    const owner = await registerAccount(get(), "revoke");
    const { projectId, publishableKey, publishableKeyId } = await projectWithPublishableKey(get(), owner);
    expect((await call(get(), "GET", "/sdk/config", fromPage(publishableKey))).status).toBe(200);
    const revoked = await call(get(), "DELETE", `/projects/${projectId}/api-keys/${publishableKeyId}`, { token: owner.token, orgId: owner.orgId });
    expect(revoked.body).toMatchObject({ scope: "publishable", revokedAt: expect.any(String) });
    expectEnvelope(await call(get(), "GET", "/sdk/config", fromPage(publishableKey)), 401, "Invalid API key");
  });
});

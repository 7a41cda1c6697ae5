import { MAX_ALLOWED_ORIGINS } from "@reachbell/contract";
import { expect, it } from "vitest";
import { createProject, registerSub, subscription } from "./project-fixtures";
import { EVIL, SHOP, fromPage, projectWithPublishableKey } from "./publishable-fixtures";
import { type Account, type TestServer, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// A project's allowedOrigins: the pages that may use its publishable keys. Another Origin is refused
// by the auth guard (403) and gets no CORS headers; preflights to the routes a publishable key may
// call are answered for any origin (they carry no key), the real request is what is checked.

const preflight = (server: TestServer, path: string, origin: string, method = "POST") =>
  fetch(`${server.url}${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": method, "access-control-request-headers": "content-type,x-api-key" } });

const update = (server: TestServer, owner: Account, projectId: string, body: Record<string, unknown>) =>
  call(server, "PATCH", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId, body });

describeEachDb("projects: allowed origins for publishable keys", (get) => {
  it("origins are validated (scheme://host[:port], no path, ≤ 20), stored canonically and shown on the project", async () => {
    const owner = await registerAccount(get(), "origins");
    const project = await createProject(get(), owner, { allowedOrigins: ["https://Shop.Example", "https://shop.example/", "http://localhost:5173"] });
    expect(project).toMatchObject({ allowedOrigins: ["https://shop.example", "http://localhost:5173"] });

    const bad = ["https://shop.example/path", "ftp://shop.example", "shop.example", "https://user:pw@shop.example", "https://shop.example?x=1", "*", ""];
    for (const origin of bad) {
      const res = await update(get(), owner, project.id, { allowedOrigins: [SHOP, origin] });
      const env = expectEnvelope(res, 422, "Validation failed");
      expect(env.errors, origin).toEqual([{ path: "allowedOrigins.1", message: expect.stringContaining("Must be an origin") }]);
    }
    const tooMany = Array.from({ length: MAX_ALLOWED_ORIGINS + 1 }, (_, i) => `https://s${i}.example`);
    expectEnvelope(await update(get(), owner, project.id, { allowedOrigins: tooMany }), 422, "Validation failed");
    // Nothing changed by the refused updates.
    expect((await call(get(), "GET", `/projects/${project.id}`, { token: owner.token, orgId: owner.orgId })).body.allowedOrigins).toEqual(["https://shop.example", "http://localhost:5173"]);

    expect((await update(get(), owner, project.id, { allowedOrigins: tooMany.slice(1) })).body.allowedOrigins).toHaveLength(MAX_ALLOWED_ORIGINS);
    expect((await update(get(), owner, project.id, { allowedOrigins: [] })).body.allowedOrigins).toEqual([]);
  });

  it("only ADMIN and up change them", async () => {
    const owner = await registerAccount(get(), "originsrole");
    const { projectId } = await projectWithPublishableKey(get(), owner);
    const member = await registerAccount(get(), "originsmember");
    await call(get(), "POST", `/organizations/${owner.orgId}/members`, { token: owner.token, body: { email: member.email, role: "MEMBER" } });
    expectEnvelope(await call(get(), "PATCH", `/projects/${projectId}`, { token: member.token, orgId: owner.orgId, body: { allowedOrigins: [EVIL] } }), 403);
    expect((await call(get(), "GET", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId })).body.allowedOrigins).toEqual([SHOP]);
  });

  it("a publishable key from an allowed origin works, with CORS headers for that origin only and Vary: Origin", async () => {
    const owner = await registerAccount(get(), "allowedorigin");
    const { publishableKey } = await projectWithPublishableKey(get(), owner);
    const res = await call(get(), "POST", "/subscribers", fromPage(publishableKey, SHOP, subscription()));
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("vary")).toMatch(/origin/i);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
  });

  it("a publishable key from any other origin is 403 naming the origin, without CORS headers, and changes nothing", async () => {
    const owner = await registerAccount(get(), "evilorigin");
    const { projectId, fullKey, publishableKey } = await projectWithPublishableKey(get(), owner);
    const sub = await registerSub(get(), fullKey);
    for (const origin of [EVIL, "http://shop.example", "https://shop.example:8443", "null"]) {
      const res = await call(get(), "POST", "/subscribers/identify", fromPage(publishableKey, origin, { token: sub.token, externalId: "intruder" }));
      expectEnvelope(res, 403, `Origin ${origin} is not allowed for this project`);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("vary")).toMatch(/origin/i);
    }
    expectEnvelope(await call(get(), "POST", "/subscribers", fromPage(publishableKey, EVIL, subscription())), 403, `Origin ${EVIL} is not allowed for this project`);
    const subs = await call(get(), "GET", `/subscribers/project/${projectId}`, { apiKey: fullKey });
    expect(subs.body.data.map((s: { externalId: string | null }) => s.externalId)).toEqual([null]);
  });

  it("a project without allowed origins refuses every page; a request without Origin (no browser) is let through", async () => {
    const owner = await registerAccount(get(), "noorigins");
    const { publishableKey } = await projectWithPublishableKey(get(), owner, { allowedOrigins: [] });
    expectEnvelope(await call(get(), "GET", "/sdk/config", fromPage(publishableKey, SHOP)), 403, `Origin ${SHOP} is not allowed for this project`);
    // Decision (README): browsers always send Origin on a page's cross-origin calls; a client that omits
    // it is not a page and could send any Origin anyway, so the scope is what limits it.
    expect((await call(get(), "GET", "/sdk/config", { apiKey: publishableKey })).status).toBe(200);
  });

  it("changing the list applies from the next request (the cached key is refreshed)", async () => {
    const owner = await registerAccount(get(), "changeorigins");
    const { projectId, publishableKey } = await projectWithPublishableKey(get(), owner);
    expect((await call(get(), "GET", "/sdk/config", fromPage(publishableKey, SHOP))).status).toBe(200);
    await update(get(), owner, projectId, { allowedOrigins: ["https://new.example"] });
    expectEnvelope(await call(get(), "GET", "/sdk/config", fromPage(publishableKey, SHOP)), 403, `Origin ${SHOP} is not allowed for this project`);
    const now = await call(get(), "GET", "/sdk/config", fromPage(publishableKey, "https://new.example"));
    expect(now.status).toBe(200);
    expect(now.headers.get("access-control-allow-origin")).toBe("https://new.example");
  });

  it("full-scope keys are not limited by allowed origins (server side), and get no CORS headers unless CORS_ORIGINS says so", async () => {
    const owner = await registerAccount(get(), "fullorigin");
    const { fullKey } = await projectWithPublishableKey(get(), owner);
    const res = await call(get(), "POST", "/subscribers", { apiKey: fullKey, headers: { origin: EVIL }, body: subscription() });
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const same = await call(get(), "POST", "/subscribers", { apiKey: fullKey, headers: { origin: SHOP }, body: subscription() });
    expect(same.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("preflights: open on the publishable routes for any origin (no key to check yet), closed elsewhere", async () => {
    const routes: [string, string][] = [
      ["/subscribers", "POST"],
      ["/subscribers/identify", "POST"],
      ["/subscribers/tags", "POST"],
      ["/subscribers/unsubscribe", "POST"],
      ["/events/notifications", "POST"],
      ["/sdk/config", "GET"],
      ["/api/subscribers/identify", "POST"],
    ];
    for (const [path, method] of routes) {
      const res = await preflight(get(), path, EVIL, method);
      expect(res.status, path).toBe(204);
      expect(res.headers.get("access-control-allow-origin"), path).toBe(EVIL);
      expect(res.headers.get("access-control-allow-headers"), path).toMatch(/x-api-key/);
      expect(res.headers.get("access-control-allow-methods"), path).toMatch(new RegExp(method));
      expect(res.headers.get("vary"), path).toMatch(/origin/i);
    }
    for (const [path, method] of [
      ["/subscribers/project/proj_x", "GET"],
      ["/subscribers/sub_x", "DELETE"],
      ["/transactional/send", "POST"],
      ["/projects", "GET"],
      ["/sdk/config", "DELETE"],
    ] as const) {
      const res = await preflight(get(), path, EVIL, method);
      expect(res.headers.get("access-control-allow-origin"), `${method} ${path}`).toBeNull();
    }
  });

  it("a key that is no key gets readable CORS headers on the publishable routes (its 401 names no project)", async () => {
    const res = await call(get(), "GET", "/sdk/config", { apiKey: `rb_live_${"x".repeat(32)}`, headers: { origin: EVIL } });
    expectEnvelope(res, 401, "Invalid API key");
    expect(res.headers.get("access-control-allow-origin")).toBe(EVIL);
  });
});

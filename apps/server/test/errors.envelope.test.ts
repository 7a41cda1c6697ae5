import { createTestDb, testDialects } from "@reachbell/db";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { testConfig } from "../src/env";
import { createLogger } from "../src/logger";
import { LEAK, addMember } from "./fixtures";
import { type TestServer, call, describeEachDb, expectEnvelope, registerAccount, uniqueEmail } from "./support";

const json = { "content-type": "application/json" };

describeEachDb("errors: the envelope on every failure", (get) => {
  it("unknown routes and methods are 404 Route not found", async () => {
    const acct = await registerAccount(get(), "routes");
    const cases: [string, string, Record<string, unknown>][] = [
      ["GET", "/nope", {}],
      ["GET", "/", {}],
      ["POST", "/nope", { body: { a: 1 } }],
      ["GET", "/auth/register", {}],
      ["DELETE", "/auth/me", { token: acct.token }],
      ["PUT", `/organizations/${acct.orgId}`, { token: acct.token, body: { name: "x" } }],
      ["GET", `/organizations/${acct.orgId}/members/x/y`, { token: acct.token }],
      ["GET", "/docs/assets/does-not-exist.js", {}],
    ];
    for (const [method, path, opts] of cases) {
      const res = await call(get(), method, path, opts);
      expectEnvelope(res, 404, "Route not found");
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
  });

  it("malformed JSON is 400", async () => {
    for (const rawBody of ["{bad", '{"email": }', "nul", '{"a":1}}']) {
      expectEnvelope(await call(get(), "POST", "/auth/login", { rawBody, headers: json }), 400, "Malformed JSON body");
    }
    const acct = await registerAccount(get(), "malformed");
    expectEnvelope(await call(get(), "POST", "/organizations", { rawBody: "{", headers: json, token: acct.token }), 400, "Malformed JSON body");
  });

  it("a body that is not JSON is 415", async () => {
    const body = JSON.stringify({ email: "a@example.test", password: "x" });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"]) {
      expectEnvelope(await call(get(), "POST", "/auth/login", { rawBody: body, headers: { "content-type": type } }), 415, "Content-Type must be application/json");
    }
    // No content type at all.
    expectEnvelope(await call(get(), "POST", "/auth/login", { rawBody: body }), 415, "Content-Type must be application/json");
    expectEnvelope(await call(get(), "POST", "/auth/login"), 415, "Content-Type must be application/json");
  });

  it("a body over 100 kB is 413, one under it is read", async () => {
    const big = JSON.stringify({ email: "a@example.test", password: "p".repeat(101_000) });
    expectEnvelope(await call(get(), "POST", "/auth/login", { rawBody: big, headers: json }), 413, "Request body too large");
    const acct = await registerAccount(get(), "big");
    expectEnvelope(
      await call(get(), "POST", "/organizations", { rawBody: JSON.stringify({ name: "n".repeat(150_000) }), headers: json, token: acct.token }),
      413,
      "Request body too large",
    );
    // 90 kB is under the limit: it reaches validation (password over 1024 characters → 422).
    const under = JSON.stringify({ email: "a@example.test", password: "p".repeat(90_000) });
    const res = await call(get(), "POST", "/auth/login", { rawBody: under, headers: json });
    expect(expectEnvelope(res, 422).errors.map((e: { path: string }) => e.path)).toEqual(["password"]);
  });

  it("validation failures are 422 with one {path, message} per failing field", async () => {
    const res = await call(get(), "POST", "/auth/register", { body: { email: "nope", password: "short", name: "" } });
    const b = expectEnvelope(res, 422, "Validation failed");
    expect(b.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "name", "organizationName", "password"]);
    for (const e of b.errors) {
      expect(Object.keys(e).sort()).toEqual(["message", "path"]);
      expect(e.message.length).toBeGreaterThan(0);
    }
  });

  it("application/json with a charset is accepted", async () => {
    const email = uniqueEmail("charset");
    const reg = await call(get(), "POST", "/auth/register", {
      rawBody: JSON.stringify({ email, password: "longenough1", name: "Ünïcødé ✓", organizationName: "Org" }),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user.name).toBe("Ünïcødé ✓");
    const login = await call(get(), "POST", "/auth/login", {
      rawBody: JSON.stringify({ email, password: "longenough1" }),
      headers: { "content-type": "application/json; charset=UTF-8" },
    });
    expect(login.status).toBe(200);
  });

  it("x-request-id is on every response, req_-prefixed, unique, and equals the envelope's requestId", async () => {
    const acct = await registerAccount(get(), "reqid");
    const { account: viewer } = await addMember(get(), acct, "VIEWER");
    const ids = new Set<string>();
    const successes = [
      await call(get(), "GET", "/healthz"),
      await call(get(), "GET", "/openapi.json"),
      await call(get(), "GET", "/docs"),
      await call(get(), "GET", "/auth/me", { token: acct.token }),
      await call(get(), "POST", "/organizations", { token: acct.token, body: { name: "Y" } }),
      await call(get(), "GET", `/trpc/auth.me`, { token: acct.token }),
    ];
    for (const res of successes) {
      expect(res.status).toBeLessThan(300);
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^req_[0-9A-Z]{26}$/);
      ids.add(id!);
    }
    const failures = [
      [await call(get(), "GET", "/nope"), 404],
      [await call(get(), "POST", "/auth/login", { rawBody: "{", headers: json }), 400],
      [await call(get(), "GET", "/auth/me"), 401],
      [await call(get(), "PATCH", `/organizations/${acct.orgId}`, { token: viewer.token, body: { name: "no" } }), 403],
      [await call(get(), "POST", "/auth/register", { body: { email: acct.email, password: "longenough1", name: "a", organizationName: "b" } }), 409],
      [await call(get(), "POST", "/auth/login", { rawBody: "x".repeat(120_000), headers: json }), 413],
      [await call(get(), "POST", "/auth/login", { rawBody: "{}", headers: { "content-type": "text/plain" } }), 415],
      [await call(get(), "POST", "/auth/login", { body: {} }), 422],
    ] as const;
    for (const [res, status] of failures) {
      const b = expectEnvelope(res, status);
      expect(JSON.stringify(b)).not.toMatch(LEAK);
      ids.add(b.requestId);
    }
    expect(ids.size).toBe(successes.length + failures.length);
  });

  it("a client-sent x-request-id does not replace the server's", async () => {
    const res = await call(get(), "GET", "/nope", { headers: { "x-request-id": "req_spoofed" } });
    const b = expectEnvelope(res, 404);
    expect(b.requestId).not.toBe("req_spoofed");
  });
});

// A server whose database has gone away: every fault is a 500 envelope without internals, logged with its requestId.
describe("errors: server faults", () => {
  for (const d of testDialects()) {
    const run = d.enabled ? it : it.skip;
    run(`a database failure is 500 Internal server error, logged with the requestId [${d.dialect}]`, async () => {
      const database = await createTestDb(d.dialect);
      const lines: string[] = [];
      const config = testConfig();
      const app = createApp({ database, config, logger: createLogger("info", (l) => lines.push(l)) });
      const { server, url } = await app.listen(0, "127.0.0.1");
      const ts = { url } as TestServer;
      try {
        const acct = await registerAccount(ts, "fault");
        await database.destroy();
        for (const [method, path, opts] of [
          ["POST", "/auth/login", { body: { email: acct.email, password: acct.password } }],
          ["GET", "/auth/me", { token: acct.token }],
          ["GET", "/organizations", { token: acct.token }],
        ] as const) {
          const res = await call(ts, method, path, opts);
          const b = expectEnvelope(res, 500, "Internal server error");
          expect(Object.keys(b).sort()).toEqual(["message", "requestId", "statusCode"]);
          expect(JSON.stringify(b)).not.toMatch(LEAK);
          const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.requestId === b.requestId);
          expect(logged.filter((l) => l.level === "error")).toHaveLength(1);
          // The access log records the outcome under the same id.
          expect(logged.filter((l) => l.msg === "request").map((l) => l.status)).toEqual([500]);
        }
        const health = await call(ts, "GET", "/healthz");
        expectEnvelope(health, 503, "Database unreachable");
        // Nothing logged carries the password or the token.
        expect(lines.join("\n")).not.toContain(acct.password);
        expect(lines.join("\n")).not.toContain(acct.token);
      } finally {
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await app.close();
      }
    });
  }
});

import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import { describe, expect, it } from "vitest";
import { DEFAULT_RATE_LIMITS } from "../src/env";
import { pathRefusal } from "../src/http/path-guard";
import { trpcClient } from "./fixtures";
import { newPartner, newTenant, partnerJwt, uniqueExternalId } from "./partner-fixtures";
import { projectWithKey } from "./project-fixtures";
import { type ApiResponse, call, describeEachDb, expectEnvelope, rawRequest, registerAccount } from "./support";

// Routing attacks an adversarial review found: a request target that makes one layer (the rate
// limiter, the /api alias) read another operation than the router runs, or an id that changes the
// operation. Every case is sent as raw HTTP, the path exactly as written (fetch would normalize it).

const { default: DEFAULT, auth: AUTH } = DEFAULT_RATE_LIMITS;
const MALFORMED_PATH = "Malformed path: '.' and '..' segments and backslashes are not allowed";

let n = 0;
/** A client address no other test uses (documentation range; only ever a header value). */
const freshIp = () => {
  n++;
  return `203.0.${113 + Math.floor(n / 250)}.${(n % 250) + 1}`;
};
const from = (ip: string, headers: Record<string, string> = {}) => ({ "x-forwarded-for": ip, ...headers });
const JSON_BODY = { "content-type": "application/json" };


/** tRPC's error shape (see trpc.ts errorFormatter), with the response's request id. */
function expectTrpcError(res: ApiResponse, status: number, code: keyof typeof TRPC_ERROR_CODES_BY_KEY, message: string) {
  const shown = JSON.stringify(res.body)?.slice(0, 300);
  expect(res.status, shown).toBe(status);
  expect(res.body?.error, shown).toMatchObject({ message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: status } });
  expect(res.body.error.data.requestId).toMatch(/^req_/);
  expect(res.body.error.data.requestId).toBe(res.headers.get("x-request-id"));
  expect(res.body).not.toHaveProperty("statusCode");
}

describeEachDb(
  "routing: what the router runs is what every layer sees",
  (get) => {
    it("refuses /trpc paths whose procedure part has extra segments (404, tRPC shape) before any procedure runs", async () => {
      const acct = await registerAccount(get(), "trpcpath");
      const login = JSON.stringify({ email: acct.email, password: acct.password });
      const paths = [
        "/trpc/x/auth.login",
        "/trpc/auth.me/auth.login",
        "/TRPC/x/auth.login",
        "/trpc//auth.login",
        "/trpc/x%2Fauth.login",
        "/trpc/x%2fauth.login",
        "/trpc/x\\auth.login",
        "/trpc/x%5Cauth.login",
        "/trpc/../trpc/auth.login",
        "/trpc/%2e%2e/auth.login",
        "/trpc/auth.login/",
        "/trpc/..",
        "/trpc/%2E",
        "http://localhost/trpc/x/auth.login", // absolute-form request target
      ];
      for (const path of paths) {
        const res = await rawRequest(get(), "POST", path, from(freshIp(), JSON_BODY), login);
        expectTrpcError(res, 404, "NOT_FOUND", "Route not found");
        expect(JSON.stringify(res.body), path).not.toContain("access_token");
      }
      // Counted as what the adapter would have run: auth.login in the auth group, subscribers.* in ingest.
      for (const path of ["/trpc/x/auth.login", "/trpc/auth.me/auth.login", "/TRPC/x/auth.login", "/trpc//auth.login"]) {
        const res = await rawRequest(get(), "POST", path, from(freshIp(), JSON_BODY), login);
        expect(res.headers.get("ratelimit-limit"), path).toBe(String(AUTH));
      }
      const ingest = await rawRequest(get(), "POST", "/trpc/x/subscribers.register", from(freshIp(), JSON_BODY), "{}");
      expectTrpcError(ingest, 404, "NOT_FOUND", "Route not found");
      expect(ingest.headers.get("ratelimit-limit")).toBe(String(DEFAULT_RATE_LIMITS.ingest));
      // The real path logs in.
      const ok = await rawRequest(get(), "POST", "/trpc/auth.login", from(freshIp(), JSON_BODY), login);
      expect(ok.status).toBe(200);
      expect(ok.body.result.data.access_token).toEqual(expect.any(String));
      expect(ok.headers.get("ratelimit-remaining")).toBe(String(AUTH - 1));
    });

    it("checks no password through an extra segment, and counts each attempt in the login limit: the 11th is 429", async () => {
      const ip = freshIp();
      const wrong = JSON.stringify({ email: "nobody@example.test", password: "guess" });
      for (let i = 0; i < AUTH; i++) {
        const path = i % 2 ? "/trpc/x/auth.login" : "/trpc/auth.login";
        const res = await rawRequest(get(), "POST", path, from(ip, JSON_BODY), wrong);
        if (i % 2) expectTrpcError(res, 404, "NOT_FOUND", "Route not found");
        else expectTrpcError(res, 401, "UNAUTHORIZED", "Invalid email or password");
        expect(res.headers.get("ratelimit-remaining"), `attempt ${i + 1}`).toBe(String(AUTH - 1 - i));
      }
      for (const path of ["/trpc/auth.login", "/trpc/x/auth.login", "/auth/login"]) {
        const over = await rawRequest(get(), "POST", path, from(ip, JSON_BODY), wrong);
        expect(over.status, path).toBe(429);
        expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
    });

    it("charges every call of a tRPC batch and refuses batches of more than 100 calls whole, before they are counted or run", async () => {
      const acct = await registerAccount(get(), "batch");
      const ip = freshIp();
      const headers = from(ip, { authorization: `Bearer ${acct.token}` });
      const batch = (count: number, separator = ",", procedure = "auth.me") => `/trpc/${Array<string>(count).fill(procedure).join(separator)}?batch=1`;
      const empty = `/trpc/${",".repeat(100)}?batch=1`; // 101 calls with empty names
      for (const path of [batch(101), batch(1000), batch(101, "%2C"), batch(101, "%2c"), `${batch(101)}&input=%7B%7D`, empty]) {
        const res = await rawRequest(get(), "GET", path, headers);
        expectTrpcError(res, 400, "BAD_REQUEST", "A tRPC batch may hold at most 100 calls");
        expect(res.headers.get("ratelimit-limit")).toBeNull();
      }
      // A mutation batch is refused before its body is read: no organization is created.
      const inputs = JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [i, { name: `Batch org ${i}` }])));
      const mutations = await rawRequest(get(), "POST", batch(101, ",", "organizations.create"), { ...headers, ...JSON_BODY }, inputs);
      expectTrpcError(mutations, 400, "BAD_REQUEST", "A tRPC batch may hold at most 100 calls");
      const orgs = await call(get(), "GET", "/organizations", { token: acct.token, headers: from(ip) });
      expect(orgs.body.data.map((o: { id: string }) => o.id)).toEqual([acct.orgId]);
      expect(orgs.headers.get("ratelimit-remaining")).toBe(String(DEFAULT - 1));
      // 100 calls run, and each one counts: six such batches use up the default group's 600.
      for (let i = 1; i <= 5; i++) {
        const res = await rawRequest(get(), "GET", batch(100), headers);
        expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
        expect(res.body).toHaveLength(100);
        expect(res.body.every((r: any) => r.result.data.id === acct.userId)).toBe(true);
        expect(res.headers.get("ratelimit-remaining")).toBe(String(DEFAULT - 1 - 100 * i));
      }
      const last = await rawRequest(get(), "GET", batch(99), headers);
      expect(last.status).toBe(200);
      expect(last.headers.get("ratelimit-remaining")).toBe("0");
      const over = await rawRequest(get(), "GET", "/trpc/auth.me", headers);
      expectTrpcError(over, 429, "TOO_MANY_REQUESTS", "Too many requests");
    });

    it("refuses dot segments and backslashes in any spelling with a 400 envelope before routing: an id never changes the operation", async () => {
      const acct = await registerAccount(get(), "dots");
      const { projectId } = await projectWithKey(get(), acct);
      const headers = { authorization: `Bearer ${acct.token}`, "x-org-id": acct.orgId };
      const keys = `/projects/${projectId}/api-keys`;
      const members = `/organizations/${acct.orgId}/members`;
      const targets = [
        `${keys}/..`,
        `${keys}/.`,
        `${keys}/%2E%2E`,
        `${keys}/%2e%2e`,
        `${keys}/.%2E`,
        `${keys}/%2e.`,
        `${keys}/%2E`,
        `${keys}/../`,
        `${keys}/..?x=1`,
        `${keys}\\..`,
        `${keys}/x\\..\\..`,
        `${keys}/%2E%2E/%2E%2E/`,
        `/projects/${projectId}/x/..`,
        `/projects/./${projectId}`,
        `/api${keys}/..`,
        `/api${keys}/%2E%2E`,
        `/api/../projects/${projectId}`,
        `/API/projects/${projectId}/api-keys/..`,
        `${members}/..`,
        `${members}/%2E%2E`,
        `${members}/%2e%2E/`,
        `/organizations/${acct.orgId}/members/x/../..`,
        `${get().url}${keys}/..`, // absolute-form request target
      ];
      for (const target of targets) {
        const res = await rawRequest(get(), "DELETE", target, headers);
        expectEnvelope(res, 400, MALFORMED_PATH);
      }
      // Nothing was deleted.
      expect((await call(get(), "GET", `/projects/${projectId}`, { token: acct.token, orgId: acct.orgId })).status).toBe(200);
      expect((await call(get(), "GET", `/organizations/${acct.orgId}`, { token: acct.token })).status).toBe(200);
      // Look-alikes that URL parsing keeps as they are route as ids; a query may hold anything.
      for (const id of ["...", ".x", "x.", "..x", "%2E%2E%2E"]) {
        expectEnvelope(await rawRequest(get(), "DELETE", `${keys}/${id}`, headers), 404, "API key not found");
      }
      expect((await rawRequest(get(), "GET", `/projects/${projectId}?next=/../..`, headers)).status).toBe(200);
      expect((await rawRequest(get(), "GET", "/healthz?x=/./..\\")).status).toBe(200);
      expect((await call(get(), "GET", `/projects/${projectId}`, { token: acct.token, orgId: acct.orgId })).status).toBe(200);
    });

    it("percent-decodes path parameters after routing: non-ASCII externalIds are addressable, and a decoded / or .. stays in the value", async () => {
      const partner = await newPartner(get());
      const token = await partnerJwt(partner);
      const auth = { authorization: `Bearer ${token}` };
      for (const externalId of [uniqueExternalId("café"), uniqueExternalId("日本")]) {
        const tenant = await newTenant(get(), partner, externalId);
        const encoded = encodeURIComponent(externalId);
        for (const path of [`/partner/tenants/${encoded}`, `/api/partner/tenants/${encoded}`, `/partner/tenants/${encoded.toLowerCase()}`]) {
          const res = await rawRequest(get(), "GET", path, auth);
          expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(200);
          expect(res.body).toMatchObject({ id: tenant.id, externalId });
        }
        const renamed = await rawRequest(get(), "PATCH", `/partner/tenants/${encoded}`, { ...auth, ...JSON_BODY }, JSON.stringify({ name: "Renamed" }));
        expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
        expect(renamed.body).toMatchObject({ id: tenant.id, externalId, name: "Renamed" });
      }
      // Any percent-encoded character is decoded, ASCII included.
      const plain = await newTenant(get(), partner, uniqueExternalId("plain"));
      const byEncodedAscii = await rawRequest(get(), "GET", `/partner/tenants/%70${plain.externalId.slice(1)}`, auth);
      expect(byEncodedAscii.status).toBe(200);
      expect(byEncodedAscii.body.id).toBe(plain.id);
      // A decoded `/`, `..` or `?` is part of the value: the same route, no such tenant (not the list, not a 400).
      for (const param of ["..%2F", "%2E%2E%2F", "%2F", `${plain.externalId}%2F..`, `x%2F..%2F${plain.externalId}`, `${plain.externalId}%3F`]) {
        expectEnvelope(await rawRequest(get(), "GET", `/partner/tenants/${param}`, auth), 404, "Tenant not found");
      }
      // Not valid percent-encoding: 400, in the envelope.
      for (const param of ["%E9", "caf%C3", "%", "%zz"]) {
        expectEnvelope(await rawRequest(get(), "GET", `/partner/tenants/${param}`, auth), 400);
      }
    });

    it("reads reach-tenant-id percent-encoded (UTF-8), so a non-ASCII externalId can be named in the header; the org id works too", async () => {
      const partner = await newPartner(get());
      const token = await partnerJwt(partner);
      const tenant = await newTenant(get(), partner, uniqueExternalId("日本"));
      const other = await newTenant(get(), partner, uniqueExternalId("café"));
      const header = (value: string) => ({ "reach-tenant-id": value });
      const created = await call(get(), "POST", "/projects", { token, headers: header(encodeURIComponent(tenant.externalId)), body: { name: "Site", environment: "live" } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.organizationId).toBe(tenant.id);
      for (const value of [encodeURIComponent(tenant.externalId), tenant.id]) {
        const list = await call(get(), "GET", "/projects", { token, headers: header(value) });
        expect(list.status).toBe(200);
        expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([created.body.id]);
      }
      // The other tenant is its own organization.
      const others = await call(get(), "GET", "/projects", { token, headers: header(encodeURIComponent(other.externalId)) });
      expect(others.status).toBe(200);
      expect(others.body.data).toEqual([]);
      // tRPC reads the same header the same way.
      const viaTrpc = await trpcClient(get(), token, { headers: header(encodeURIComponent(tenant.externalId)) }).projects.list.query({});
      expect(viaTrpc.data.map((p) => p.id)).toEqual([created.body.id]);
      // A value that does not decode, or decodes to no tenant of this partner, names no tenant.
      for (const value of ["%E6%97", "%", `${encodeURIComponent(tenant.externalId)}x`]) {
        expectEnvelope(await call(get(), "GET", "/projects", { token, headers: header(value) }), 404, "Tenant not found");
      }
    });
  },
  { trustProxy: 1, rateLimits: DEFAULT_RATE_LIMITS },
);

describe("pathRefusal (the first middleware's check of every request target)", () => {
  it("passes plain paths, look-alike segments and anything in the query", () => {
    for (const url of ["/", "/projects", "/projects/proj_1/api-keys/key_1", "/partner/tenants/caf%C3%A9-1", "/subscribers/...", "/a/.well-known", "/a/x.", "/a/..x", "/a/%2E%2E%2E", "/a/%2E%2Fb", "/projects?next=/../..", "/healthz?x=\\", "/trpcx/a/b", "/trpc/auth.me", "/trpc/auth.me,organizations.list?batch=1", "/api/projects"]) {
      expect(pathRefusal(url), url).toBeUndefined();
    }
  });
  it("refuses dot segments in every spelling and backslashes, on REST paths, under /api and in absolute form", () => {
    for (const seg of [".", "..", "%2e", "%2E", "%2e%2e", "%2E%2E", ".%2e", "%2E.", "%2e."]) {
      for (const url of [`/projects/p/${seg}`, `/projects/${seg}/p`, `/${seg}/projects`, `/projects/p/${seg}/`, `/projects/p/${seg}?x=1`, `/api/projects/${seg}`, `http://h/projects/${seg}`]) {
        expect(pathRefusal(url), url).toBe("malformed-path");
      }
    }
    for (const url of ["/projects\\p", "/projects/p\\..", "\\projects", "/api\\..\\auth/login"]) expect(pathRefusal(url), url).toBe("malformed-path");
  });
  it("refuses a /trpc procedure part with more than one segment (404) and a batch of more than 100 calls (400)", () => {
    for (const url of ["/trpc/x/auth.login", "/TRPC/x/auth.login", "/trpc//auth.login", "/trpc/x%2Fauth.login", "/trpc/x\\auth.login", "/trpc/x%5cauth.login", "/trpc/..", "/trpc/%2e", "/trpc/auth.login/", "http://h/trpc/x/auth.login"]) {
      expect(pathRefusal(url), url).toBe("trpc-not-found");
    }
    const calls = (count: number, sep = ",") => Array<string>(count).fill("auth.me").join(sep);
    expect(pathRefusal(`/trpc/${calls(100)}?batch=1`)).toBeUndefined();
    expect(pathRefusal(`/trpc/${calls(101)}?batch=1`)).toBe("trpc-batch-too-large");
    expect(pathRefusal(`/trpc/${calls(101, "%2C")}?input=%7B%7D&batch=1`)).toBe("trpc-batch-too-large");
    // Without ?batch=1 it is one (unknown) procedure: tRPC answers 404 itself.
    expect(pathRefusal(`/trpc/${calls(101)}`)).toBeUndefined();
  });
});

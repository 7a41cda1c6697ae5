import { TRPCClientError } from "@trpc/client";
import { expect, it } from "vitest";
import { DEFAULT_RATE_LIMITS } from "../src/env";
import { setProjectRateLimits } from "../src/rate-limit/admin";
import { addMember, rejection, trpcClient } from "./fixtures";
import { projectWithKey } from "./project-fixtures";
import { type ApiResponse, call, describeEachDb, expectEnvelope, rawRequest, registerAccount, uniqueEmail } from "./support";

// SPEC §6 with the real numbers (600 default, 120 ingest, 10 auth per minute per client IP). The
// server trusts one proxy hop, so each test is its own set of clients by X-Forwarded-For.

let n = 0;
/** A client address no other test uses (documentation ranges; only ever a header value). */
const freshIp = () => {
  n++;
  return `198.51.${100 + Math.floor(n / 250)}.${(n % 250) + 1}`;
};
const from = (ip: string, headers: Record<string, string> = {}) => ({ "x-forwarded-for": ip, ...headers });

function limitHeaders(res: ApiResponse) {
  return {
    limit: res.headers.get("ratelimit-limit"),
    remaining: res.headers.get("ratelimit-remaining"),
    reset: res.headers.get("ratelimit-reset"),
    retryAfter: res.headers.get("retry-after"),
  };
}

function expectLimited(res: ApiResponse, limit: number, remaining?: number) {
  const h = limitHeaders(res);
  expect(h.limit, `RateLimit-Limit on ${res.status}`).toBe(String(limit));
  if (remaining !== undefined) expect(h.remaining).toBe(String(remaining));
  const reset = Number(h.reset);
  expect(Number.isInteger(reset) && reset >= 1 && reset <= 60, `RateLimit-Reset ${h.reset}`).toBe(true);
}

function expect429(res: ApiResponse, limit: number) {
  expectEnvelope(res, 429, "Too many requests");
  expectLimited(res, limit, 0);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`).toBe(true);
}

/** `count` sequential calls; returns the responses. */
async function repeat(count: number, fn: (i: number) => Promise<ApiResponse>): Promise<ApiResponse[]> {
  const out: ApiResponse[] = [];
  for (let i = 0; i < count; i++) out.push(await fn(i));
  return out;
}


const { default: DEFAULT, ingest: INGEST, auth: AUTH } = DEFAULT_RATE_LIMITS;

describeEachDb(
  "rate limits",
  (get) => {
    it("lets the 120th ingest request of a window through and answers the 121st with 429 and Retry-After", async () => {
      const ip = freshIp();
      const ok = await repeat(INGEST, () => call(get(), "POST", "/subscribers", { body: {}, headers: from(ip) }));
      ok.forEach((res, i) => {
        expect(res.status, `request ${i + 1}`).toBe(401);
        expectLimited(res, INGEST, INGEST - 1 - i);
      });
      const rejected = await call(get(), "POST", "/subscribers", { body: {}, headers: from(ip) });
      expect429(rejected, INGEST);
      // Every ingest route shares the counter; the default group of the same IP is untouched.
      expect429(await call(get(), "POST", "/transactional/send", { body: {}, headers: from(ip) }), INGEST);
      expect429(await call(get(), "GET", "/subscribers/sub_x", { headers: from(ip) }), INGEST);
      const other = await call(get(), "GET", "/auth/me", { headers: from(ip) });
      expect(other.status).toBe(401);
      expectLimited(other, DEFAULT, DEFAULT - 1);
    });

    it("counts the default group to 600 and answers the 601st with 429", async () => {
      const ip = freshIp();
      const ok = await repeat(DEFAULT, () => call(get(), "GET", "/projects", { headers: from(ip) }));
      expect(ok.map((r) => r.status).filter((s) => s === 429)).toEqual([]);
      expectLimited(ok[DEFAULT - 1]!, DEFAULT, 0);
      expect429(await call(get(), "GET", "/organizations", { headers: from(ip) }), DEFAULT);
    });

    it("allows 10 login or register attempts per IP per minute, then 429; a rejected register creates nothing", async () => {
      const ip = freshIp();
      const attempts = await repeat(AUTH, () => call(get(), "POST", "/auth/login", { body: { email: "nobody@example.test", password: "guess" }, headers: from(ip) }));
      attempts.forEach((res, i) => {
        expectEnvelope(res, 401, "Invalid email or password");
        expectLimited(res, AUTH, AUTH - 1 - i);
      });
      expect429(await call(get(), "POST", "/auth/login", { body: { email: "nobody@example.test", password: "guess" }, headers: from(ip) }), AUTH);
      const email = uniqueEmail("throttled");
      const register = await call(get(), "POST", "/auth/register", {
        body: { email, password: "correct horse battery", name: "T", organizationName: "T" },
        headers: from(ip),
      });
      expect429(register, AUTH);
      const stored = await get().database.db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirst();
      expect(stored).toBeUndefined();
      // Another address is not affected.
      const other = await call(get(), "POST", "/auth/login", { body: { email: "nobody@example.test", password: "guess" }, headers: from(freshIp()) });
      expectEnvelope(other, 401);
      expectLimited(other, AUTH, AUTH - 1);
    });

    it("counts groups and client IPs separately", async () => {
      const [a, b] = [freshIp(), freshIp()];
      for (let i = 0; i < 3; i++) await call(get(), "POST", "/subscribers", { body: {}, headers: from(a) });
      await call(get(), "POST", "/auth/login", { body: { email: "x@example.test", password: "x" }, headers: from(a) });
      expectLimited(await call(get(), "POST", "/subscribers", { body: {}, headers: from(a) }), INGEST, INGEST - 4);
      expectLimited(await call(get(), "POST", "/subscribers", { body: {}, headers: from(b) }), INGEST, INGEST - 1);
      expectLimited(await call(get(), "POST", "/auth/login", { body: { email: "x@example.test", password: "x" }, headers: from(a) }), AUTH, AUTH - 2);
      expectLimited(await call(get(), "GET", "/projects", { headers: from(a) }), DEFAULT, DEFAULT - 1);
      // The client is the hop TRUST_PROXY=1 selects: the last X-Forwarded-For entry, not a spoofed first one.
      const viaProxy = await call(get(), "POST", "/subscribers", { body: {}, headers: { "x-forwarded-for": `10.9.8.7, ${a}` } });
      expectLimited(viaProxy, INGEST, INGEST - 5);
    });

    it("puts the rate-limit headers on every limited response and none on health, docs and the OpenAPI document", async () => {
      const acct = await registerAccount(get(), "headers");
      const ip = freshIp();
      const responses = [
        await call(get(), "GET", "/auth/me", { token: acct.token, headers: from(ip) }), // 200
        await call(get(), "GET", "/organizations/org_nope", { token: acct.token, headers: from(ip) }), // 404
        await call(get(), "GET", "/no/such/route", { headers: from(ip) }), // 404 route
        await call(get(), "POST", "/organizations", { token: acct.token, body: { name: "" }, headers: from(ip) }), // 422
        await call(get(), "POST", "/organizations", { token: acct.token, rawBody: "{nope", headers: from(ip, { "content-type": "application/json" }) }), // 400
        await call(get(), "GET", "/auth/me", { token: "nope", headers: from(ip) }), // 401
      ];
      expect(responses.map((r) => r.status)).toEqual([200, 404, 404, 422, 400, 401]);
      responses.forEach((res, i) => expectLimited(res, DEFAULT, DEFAULT - 1 - i));
      for (const path of ["/healthz", "/openapi.json", "/docs"]) {
        const res = await call(get(), "GET", path, { headers: from(ip) });
        expect(res.status).toBe(200);
        expect(res.headers.get("ratelimit-limit"), path).toBeNull();
      }
      expect(limitHeaders(responses[0]!).retryAfter).toBeNull();
    });

    it("takes the group from the contract on tRPC too, counts each call of a batch, and answers 429 in tRPC's error shape", async () => {
      const ip = freshIp();
      // REST and tRPC draw on the same auth counter.
      for (let i = 0; i < 4; i++) await call(get(), "POST", "/auth/login", { body: { email: "t@example.test", password: "x" }, headers: from(ip) });
      const client = trpcClient(get(), undefined, { headers: from(ip) });
      const single = await rejection(() => client.auth.login.mutate({ email: "t@example.test", password: "x" }));
      expect(single).toBeInstanceOf(TRPCClientError);
      expect(single.data.httpStatus).toBe(401);
      // A batch of five login calls counts five: 4 + 1 + 5 = 10, the limit.
      const batch = trpcClient(get(), undefined, { batch: true, headers: from(ip) });
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => batch.auth.login.mutate({ email: "t@example.test", password: "x" })));
      expect(results.every((r) => r.status === "rejected" && (r.reason as TRPCClientError<any>).data?.httpStatus === 401)).toBe(true);
      const limited = await rejection(() => client.auth.login.mutate({ email: "t@example.test", password: "x" }));
      expect(limited).toBeInstanceOf(TRPCClientError);
      expect(limited.message).toBe("Too many requests");
      expect(limited.data.code).toBe("TOO_MANY_REQUESTS");
      expect(limited.data.httpStatus).toBe(429);
      expect(limited.data.requestId).toMatch(/^req_/);
      // Batched, each call gets the 429; a batch mixing groups is counted in the strictest (auth).
      const mixed = await Promise.allSettled([batch.organizations.create.mutate({ name: "x" }), batch.auth.login.mutate({ email: "t@example.test", password: "x" })]);
      for (const r of mixed) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason.data.httpStatus).toBe(429);
      }
      // Raw responses carry the headers and Retry-After.
      const raw = await fetch(`${get().url}/trpc/auth.login`, {
        method: "POST",
        headers: { "content-type": "application/json", ...from(ip) },
        body: JSON.stringify({ email: "t@example.test", password: "x" }),
      });
      expect(raw.status).toBe(429);
      expect(raw.headers.get("ratelimit-limit")).toBe(String(AUTH));
      expect(raw.headers.get("ratelimit-remaining")).toBe("0");
      expect(Number(raw.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(raw.headers.get("x-request-id")).toBe(((await raw.json()) as any).error.data.requestId);
      // A default-group query from a fresh IP over tRPC is counted in the default group.
      const q = await fetch(`${get().url}/trpc/auth.me`, { headers: from(freshIp()) });
      expect(q.status).toBe(401);
      expect(q.headers.get("ratelimit-limit")).toBe(String(DEFAULT));
    });

    it("counts every spelling of a path in the group of the procedure it reaches", async () => {
      const ip = freshIp();
      const body = JSON.stringify({ email: "s@example.test", password: "x" });
      const headers = { "content-type": "application/json", ...from(ip) };
      const spellings = ["/auth/login", "/AUTH/Login", "/auth/login/", "/x/../auth/login", "/auth/./login", "/api/auth/login", "/docs/../auth/login", "/healthz/../auth/login"];
      const responses: ApiResponse[] = [];
      for (const path of spellings) responses.push(await rawRequest(get(), "POST", path, headers, body));
      responses.forEach((res, i) => {
        expect(res.headers.get("ratelimit-limit"), spellings[i]).toBe(String(AUTH));
        expect(res.headers.get("ratelimit-remaining"), spellings[i]).toBe(String(AUTH - 1 - i));
      });
    });

    it("uses a project's raised limits for requests authenticated with its API key", async () => {
      const owner = await registerAccount(get(), "raised");
      const { projectId, apiKey } = await projectWithKey(get(), owner);
      const { projectId: plainProjectId, apiKey: plainKey } = await projectWithKey(get(), owner);
      await setProjectRateLimits({ database: get().database, bus: get().app.deps.bus }, projectId, { ingest: 150 });
      const ip = freshIp();
      const list = (key?: string, project = projectId) => call(get(), "GET", `/subscribers/project/${project}`, { headers: from(ip), ...(key ? { apiKey: key } : {}) });

      const raised = await repeat(150, () => list(apiKey));
      raised.forEach((res, i) => {
        expect(res.status, `request ${i + 1}`).toBe(200);
        expectLimited(res, 150, 149 - i);
      });
      expect429(await list(apiKey), 150);
      // The same IP without the key, with an unknown key, or with another project's key: the IP's own counter.
      const anonymous = await list();
      expect(anonymous.status).toBe(401);
      expectLimited(anonymous, INGEST, INGEST - 1);
      const bogus = await list("rb_live_" + "x".repeat(43));
      expectEnvelope(bogus, 401, "Invalid API key");
      expectLimited(bogus, INGEST, INGEST - 2);
      const plain = await list(plainKey, plainProjectId);
      expect(plain.status).toBe(200);
      expectLimited(plain, INGEST, INGEST - 3);
      // The project's other groups keep the server's limits.
      expectLimited(await call(get(), "GET", "/messages/msg_nope", { apiKey, headers: from(ip) }), DEFAULT, DEFAULT - 1);
      // A change applies on the next request (the cache is invalidated through the bus).
      await setProjectRateLimits({ database: get().database, bus: get().app.deps.bus }, projectId, { ingest: 1000, default: 700 });
      const after = await list(apiKey);
      expect(after.status).toBe(200);
      expectLimited(after, 1000, 1000 - 152);
      expectLimited(await call(get(), "GET", "/messages/msg_nope", { apiKey, headers: from(ip) }), 700, 699);
      await setProjectRateLimits({ database: get().database, bus: get().app.deps.bus }, projectId, {}, { clear: true });
      expectLimited(await list(apiKey), INGEST, INGEST - 4);
    });

    it("an ADMIN raises a project's limits with PATCH /projects/{id}; lower roles and bad values change nothing", async () => {
      const owner = await registerAccount(get(), "raise-admin");
      const admin = await addMember(get(), owner, "ADMIN");
      const member = await addMember(get(), owner, "MEMBER");
      const { projectId, apiKey } = await projectWithKey(get(), owner);
      const patch = (token: string, body: unknown) => call(get(), "PATCH", `/projects/${projectId}`, { token, orgId: owner.orgId, body, headers: from(freshIp()) });
      const ip = freshIp();
      const list = () => call(get(), "GET", `/subscribers/project/${projectId}`, { apiKey, headers: from(ip) });

      expect((await call(get(), "GET", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId })).body.rateLimits).toBeNull();
      expectEnvelope(await patch(member.account.token, { rateLimits: { ingest: 5000 } }), 403);
      for (const bad of [{ auth: 1000 }, { ingest: 0 }, { ingest: 1.5 }, { ingest: "lots" }, { ingest: 2_000_000 }, "high"]) {
        expectEnvelope(await patch(admin.account.token, { rateLimits: bad }), 422);
      }
      expectLimited(await list(), INGEST, INGEST - 1);

      const raised = await patch(admin.account.token, { rateLimits: { ingest: 300 } });
      expect(raised.status).toBe(200);
      expect(raised.body.rateLimits).toEqual({ ingest: 300 });
      // Seen on the next request (the cached limits are invalidated), counted apart from the server-limit counter.
      expectLimited(await list(), 300, 299);
      // Other fields leave the limits alone; null goes back to the server's limits.
      expect((await patch(admin.account.token, { name: "renamed" })).body.rateLimits).toEqual({ ingest: 300 });
      expect((await patch(admin.account.token, { rateLimits: null })).body.rateLimits).toBeNull();
      expectLimited(await list(), INGEST, INGEST - 2);
      expect((await patch(admin.account.token, { rateLimits: {} })).body.rateLimits).toBeNull();
    });
  },
  { trustProxy: 1, rateLimits: DEFAULT_RATE_LIMITS },
);

describeEachDb(
  "rate limits without a trusted proxy",
  (get) => {
    it("counts by socket address and ignores X-Forwarded-For", async () => {
      const first = await call(get(), "POST", "/subscribers", { body: {}, headers: from("203.0.113.1") });
      const second = await call(get(), "POST", "/subscribers", { body: {}, headers: from("203.0.113.2") });
      expectLimited(first, 3, 2);
      expectLimited(second, 3, 1);
      await call(get(), "POST", "/subscribers", { body: {}, headers: from("203.0.113.3") });
      expect429(await call(get(), "POST", "/subscribers", { body: {}, headers: from("203.0.113.4") }), 3);
    });
  },
  { trustProxy: false, rateLimits: { default: 5, ingest: 3, auth: 2 } },
);

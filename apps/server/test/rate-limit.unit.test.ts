import { contractEntries, defineProcedure } from "@reachbell/contract";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, DEFAULT_RATE_LIMITS, loadConfig } from "../src/env";
import { GroupResolver, RequestCounter, clientKey, parseProjectRateLimits } from "../src/rate-limit";

describe("rate-limit groups in the contract", () => {
  it("puts /subscribers*, /transactional/* and the browser SDK's /events/* and /sdk/config in ingest, login and register in auth, the rest in default", () => {
    for (const [path, def] of contractEntries()) {
      const rest = def.meta.rest.path;
      const expected = /^\/subscribers(\/|$)|^\/transactional\/|^\/events\/|^\/sdk\/config$/.test(rest) ? "ingest" : path === "auth.login" || path === "auth.register" ? "auth" : "default";
      expect(def.meta.rateLimit, `${path} ${rest}`).toBe(expected);
    }
  });
  it("derives ingest from the path when a procedure does not say", () => {
    const base = { summary: "x", tags: ["t"], auth: { public: true }, input: z.object({}), output: z.object({}) } as const;
    expect(defineProcedure({ ...base, operationId: "a", rest: { method: "POST", path: "/subscribers/x" } }).meta.rateLimit).toBe("ingest");
    expect(defineProcedure({ ...base, operationId: "b", rest: { method: "POST", path: "/transactional/y" } }).meta.rateLimit).toBe("ingest");
    expect(defineProcedure({ ...base, operationId: "c", rest: { method: "GET", path: "/subscribersx" } }).meta.rateLimit).toBe("default");
  });
});

describe("GroupResolver", () => {
  const groups = new GroupResolver();
  const g = (method: string, url: string) => groups.resolve(method, url).group;

  it("matches REST routes of the contract, static and templated, whatever the query", () => {
    expect(g("POST", "/auth/login")).toBe("auth");
    expect(g("POST", "/auth/register?x=1")).toBe("auth");
    expect(g("GET", "/auth/me")).toBe("default");
    expect(g("POST", "/subscribers")).toBe("ingest");
    expect(g("GET", "/subscribers/project/proj_1?limit=5")).toBe("ingest");
    expect(g("DELETE", "/subscribers/sub_1")).toBe("ingest");
    expect(g("POST", "/transactional/send")).toBe("ingest");
    expect(g("GET", "/projects/proj_1/api-keys")).toBe("default");
    expect(g("HEAD", "/auth/me")).toBe("default");
  });
  it("resolves a path the way the routers do: case, trailing slash, dot segments, backslashes", () => {
    for (const url of ["/AUTH/LOGIN", "/auth/login/", "/a/../auth/login", "/auth/%2e/login", "/auth\\login", "/docs/../auth/login"]) expect(g("POST", url), url).toBe("auth");
  });
  it("answers plain paths (its fast path) exactly as through the URL parser", () => {
    // An absolute-form target always goes through the parser: the reference for the same path.
    const urls = ["/subscribers", "/subscribers/sub_1", "/SUBSCRIBERS/sub_1/", "/subscribers//x", "/auth/login", "/projects/p/api-keys?x=1", "/transactional/send", "/nope", "/", "/healthz", "/docs/x", "/trpc/auth.login", "/a/b/c/d/e"];
    for (const [, def] of contractEntries()) urls.push(def.meta.rest.path.replace(/\{[^}]+\}/g, "x_1"));
    for (const url of urls) {
      for (const method of ["GET", "POST", "PATCH", "DELETE", "HEAD"]) {
        expect(groups.resolve(method, url), `${method} ${url}`).toEqual(groups.resolve(method, `http://127.0.0.1${url}`));
      }
    }
  });
  it("falls back on the path for unknown routes", () => {
    expect(g("PUT", "/subscribers/anything/else")).toBe("ingest");
    expect(g("GET", "/transactional/nope")).toBe("ingest");
    expect(g("GET", "/nope")).toBe("default");
    expect(g("POST", "/auth/login/extra")).toBe("default");
  });
  it("exempts health, the OpenAPI document and the docs, and nothing the contract serves", () => {
    for (const url of ["/healthz", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"]) expect(groups.resolve("GET", url).exempt, url).toBe(true);
    for (const [, def] of contractEntries()) {
      const url = def.meta.rest.path.replace(/\{[^}]+\}/g, "x");
      expect(groups.resolve(def.meta.rest.method, url).exempt, url).toBe(false);
    }
  });
  it("reads tRPC procedure paths; a batch takes the strictest group and costs one per call", () => {
    expect(groups.resolve("POST", "/trpc/auth.login")).toMatchObject({ group: "auth", cost: 1, trpc: true, batch: false, procedures: ["auth.login"] });
    expect(groups.resolve("GET", "/trpc/auth.me,organizations.list?batch=1&input=%7B%7D")).toMatchObject({ group: "default", cost: 2, batch: true });
    expect(groups.resolve("POST", "/trpc/organizations.create,auth.register?batch=1")).toMatchObject({ group: "auth", cost: 2 });
    expect(groups.resolve("POST", "/trpc/subscribers.register%2Cauth.me?batch=1")).toMatchObject({ group: "ingest", cost: 2 });
    expect(groups.resolve("POST", "/TRPC/auth.login").group).toBe("auth");
    expect(groups.resolve("POST", "/trpc/subscribers.unknown").group).toBe("ingest");
    // Every call counts (batches over 100 calls are refused before the limiter, in http/path-guard.ts).
    expect(groups.resolve("POST", `/trpc/${Array(500).fill("auth.me").join(",")}?batch=1`).cost).toBe(500);
  });
  it("reads the procedure part as tRPC's adapter does: the last path segment, split on commas for a batch only", () => {
    expect(groups.resolve("POST", "/trpc/x/auth.login")).toMatchObject({ group: "auth", cost: 1, procedures: ["auth.login"] });
    expect(groups.resolve("POST", "/trpc/auth.me/y/auth.register")).toMatchObject({ group: "auth", procedures: ["auth.register"] });
    expect(groups.resolve("POST", "/trpc/a/b/subscribers.register")).toMatchObject({ group: "ingest", procedures: ["subscribers.register"] });
    expect(groups.resolve("POST", "/trpc/x/auth.me,subscribers.register?batch=1")).toMatchObject({ group: "ingest", cost: 2 });
    // Without ?batch=1 tRPC looks up one procedure, named with the comma.
    expect(groups.resolve("POST", "/trpc/auth.me,auth.me")).toMatchObject({ cost: 1, procedures: ["auth.me,auth.me"] });
  });
});

describe("clientKey", () => {
  it("keeps IPv4, unwraps IPv4-mapped IPv6 and groups IPv6 by /64", () => {
    expect(clientKey("203.0.113.9")).toBe("203.0.113.9");
    expect(clientKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(clientKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::ff")).toBe(clientKey("2001:0DB8:0001:0002:aaaa::1"));
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey(undefined)).toBe("unknown");
  });
});

describe("RequestCounter (memory)", () => {
  it("counts per key in a fixed window that starts again when it ends", async () => {
    const counter = new RequestCounter({ windowSeconds: 1 });
    const a1 = await counter.hit("a", 1, 2);
    expect(a1.count).toBe(1);
    expect(a1.resetMs).toBeGreaterThan(0);
    expect(a1.resetMs).toBeLessThanOrEqual(1000);
    expect((await counter.hit("a", 1, 2)).count).toBe(2);
    expect((await counter.hit("b", 1, 2)).count).toBe(1);
    const over = await counter.hit("a", 1, 2);
    expect(over.count).toBe(3);
    // Known to be over: answered without counting until the window ends.
    expect(await counter.hit("a", 1, 2)).toMatchObject({ blocked: true, count: 3 });
    // A raised limit is not held back by the block.
    expect(await counter.hit("a", 1, 10)).toMatchObject({ blocked: false, count: 4 });
    expect((await counter.hit("c", 5, 10)).count).toBe(5);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await counter.hit("a", 1, 2)).toMatchObject({ count: 1, blocked: false });
  });
});

describe("configuration", () => {
  it("defaults to 600 / 120 / 10 per minute and reads RATE_LIMIT_*", () => {
    const env = { JWT_SECRET: "s".repeat(32), ENCRYPTION_KEY: "ab".repeat(32) };
    expect(loadConfig(env).config.rateLimits).toEqual(DEFAULT_RATE_LIMITS);
    expect(DEFAULT_RATE_LIMITS).toEqual({ default: 600, ingest: 120, auth: 10 });
    const custom = loadConfig({ ...env, RATE_LIMIT_DEFAULT: "1000", RATE_LIMIT_INGEST: "300", RATE_LIMIT_AUTH: "5", REDIS_KEY_PREFIX: "rb-eu:" }).config;
    expect(custom.rateLimits).toEqual({ default: 1000, ingest: 300, auth: 5 });
    expect(custom.redisKeyPrefix).toBe("rb-eu:");
  });
  it("refuses bad values with one message per variable", () => {
    const env = { JWT_SECRET: "s".repeat(32), ENCRYPTION_KEY: "ab".repeat(32), RATE_LIMIT_INGEST: "0", RATE_LIMIT_AUTH: "ten", REDIS_KEY_PREFIX: "a b" };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/RATE_LIMIT_INGEST/);
    expect(problems).toMatch(/RATE_LIMIT_AUTH/);
    expect(problems).toMatch(/REDIS_KEY_PREFIX/);
  });
});

describe("parseProjectRateLimits", () => {
  it("reads the default and ingest groups and ignores anything else", () => {
    expect(parseProjectRateLimits('{"ingest":1000,"default":5000}')).toEqual({ ingest: 1000, default: 5000 });
    expect(parseProjectRateLimits(null)).toBeNull();
    expect(parseProjectRateLimits("{}")).toBeNull();
    expect(parseProjectRateLimits('{"auth":1000}')).toBeNull();
    expect(parseProjectRateLimits('{"ingest":-1}')).toBeNull();
    expect(parseProjectRateLimits("not json")).toBeNull();
  });
});

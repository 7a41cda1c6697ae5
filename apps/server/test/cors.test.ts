import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/env";
import { setPartnerOrigins } from "../src/services/partners";
import { type TestPartner, newPartner, newTenant, partnerJwt, tenantJwt, uniqueExternalId } from "./partner-fixtures";
import { call, describeEachDb } from "./support";

// CORS is closed by default; origins come from CORS_ORIGINS (every route) or from a partner's own
// list (requests made with that partner's tokens).

const APP = "https://app.example.com";
const EVIL = "https://evil.example";

const preflight = (url: string, origin: string, headers = "authorization,content-type,reach-tenant-id") =>
  fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "PATCH", "access-control-request-headers": headers } });

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((h) => h.startsWith("access-control-"));

describeEachDb("CORS: nothing is open by default", (get) => {
  it("no CORS headers on responses or preflights, whatever the origin", async () => {
    const res = await call(get(), "GET", "/healthz", { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res as unknown as Response)).toEqual([]);
    for (const path of ["/projects", "/api/projects", "/partner/tenants", "/auth/login"]) {
      const pf = await preflight(`${get().url}${path}`, APP);
      expect(corsHeaders(pf)).toEqual([]);
      expect(pf.status).toBeGreaterThanOrEqual(400);
    }
  });
});

describeEachDb(
  "CORS: CORS_ORIGINS",
  (get) => {
    let partner: TestPartner;
    let externalId: string;
    beforeAll(async () => {
      partner = await newPartner(get());
      externalId = (await newTenant(get(), partner, uniqueExternalId("cors"))).externalId;
    });

    it("a preflight from an allowed origin is answered 204 with the methods and headers the API reads", async () => {
      for (const path of ["/projects", "/api/projects", "/subscribers/sub_x"]) {
        const res = await preflight(`${get().url}${path}`, APP);
        expect(res.status).toBe(204);
        expect(res.headers.get("access-control-allow-origin")).toBe(APP);
        expect(res.headers.get("access-control-allow-credentials")).toBeNull();
        const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",");
        for (const h of ["authorization", "content-type", "x-org-id", "reach-tenant-id", "x-api-key", "idempotency-key"]) expect(allowed).toContain(h);
        expect(res.headers.get("access-control-allow-methods")).toMatch(/PATCH/);
        expect(res.headers.get("vary")).toMatch(/origin/i);
      }
    });

    it("a browser call with a tenant JWT gets the origin back and may read x-request-id and the RateLimit headers", async () => {
      const res = await fetch(`${get().url}/api/projects`, { headers: { origin: APP, authorization: `Bearer ${await tenantJwt(partner, externalId)}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(APP);
      const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(",");
      for (const h of ["x-request-id", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"]) expect(exposed).toContain(h);
      // Errors carry CORS headers too, so the page can read the envelope.
      const denied = await fetch(`${get().url}/projects`, { headers: { origin: APP } });
      expect(denied.status).toBe(401);
      expect(denied.headers.get("access-control-allow-origin")).toBe(APP);
    });

    it("other origins get no CORS headers (lookalikes included)", async () => {
      for (const origin of [EVIL, "https://app.example.com.evil.example", "http://app.example.com", "https://app.example.com:8443", "null"]) {
        const res = await fetch(`${get().url}/projects`, { headers: { origin, authorization: `Bearer ${await tenantJwt(partner, externalId)}` } });
        expect(res.status).toBe(200);
        expect(corsHeaders(res)).toEqual([]);
        expect(corsHeaders(await preflight(`${get().url}/projects`, origin))).toEqual([]);
      }
    });
  },
  { corsOrigins: [APP] },
);

describeEachDb("CORS: a partner's own origins", (get) => {
  const P1_APP = "https://tenants.partner-one.example";
  let p1: TestPartner;
  let p2: TestPartner;
  let t1: string;
  let t2: string;
  beforeAll(async () => {
    p1 = await newPartner(get(), "Partner One");
    p2 = await newPartner(get(), "Partner Two");
    t1 = (await newTenant(get(), p1, uniqueExternalId("one"))).externalId;
    t2 = (await newTenant(get(), p2, uniqueExternalId("two"))).externalId;
    // Before any request with an Origin header: the server reads partner origins on first use.
    await setPartnerOrigins({ database: get().database, secrets: get().app.deps.secrets, clock: () => new Date() }, p1.partnerId, [P1_APP]);
  });

  it("its preflights are answered (a preflight carries no token)", async () => {
    const res = await preflight(`${get().url}/projects`, P1_APP);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(P1_APP);
  });

  it("calls with that partner's tenant or partner tokens get CORS headers; other partners' tokens and no token do not", async () => {
    const own = await fetch(`${get().url}/projects`, { headers: { origin: P1_APP, authorization: `Bearer ${await tenantJwt(p1, t1)}` } });
    expect(own.status).toBe(200);
    expect(own.headers.get("access-control-allow-origin")).toBe(P1_APP);
    const partnerCall = await fetch(`${get().url}/projects`, { headers: { origin: P1_APP, authorization: `Bearer ${await partnerJwt(p1)}`, "reach-tenant-id": t1 } });
    expect(partnerCall.headers.get("access-control-allow-origin")).toBe(P1_APP);

    const other = await fetch(`${get().url}/projects`, { headers: { origin: P1_APP, authorization: `Bearer ${await tenantJwt(p2, t2)}` } });
    expect(other.status).toBe(200);
    expect(corsHeaders(other)).toEqual([]);
    const anonymous = await fetch(`${get().url}/projects`, { headers: { origin: P1_APP } });
    expect(corsHeaders(anonymous)).toEqual([]);
    const elsewhere = await fetch(`${get().url}/projects`, { headers: { origin: EVIL, authorization: `Bearer ${await tenantJwt(p1, t1)}` } });
    expect(corsHeaders(elsewhere)).toEqual([]);
  });
});

describe("CORS_ORIGINS configuration", () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "reachbell-cors-"));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it("defaults to none, and takes a comma-separated list of origins", () => {
    expect(loadConfig({}, cwd).config.corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: " https://a.example ,http://localhost:5173,, https://A.example " }, cwd).config.corsOrigins).toEqual([
      "https://a.example",
      "http://localhost:5173",
    ]);
  });

  it("refuses anything that is not an origin, naming the variable", () => {
    for (const bad of ["*", "a.example", "https://a.example/path", "ftp://a.example", "https://a.example?x"]) {
      let problems: string[] = [];
      try {
        loadConfig({ CORS_ORIGINS: bad }, cwd);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        problems = (e as ConfigError).problems;
      }
      expect(problems.some((p) => p.startsWith("CORS_ORIGINS:")), bad).toBe(true);
    }
  });
});

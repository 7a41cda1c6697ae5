import type { Database } from "@reachbell/db";
import { sql } from "kysely";
import { beforeAll, expect, it } from "vitest";
import { handJwt, nowS, userClaims, withoutRequestId } from "./fixtures";
import { type TestPartner, newPartner, newTenant, uniqueExternalId } from "./partner-fixtures";
import { createProject, projectWithKey, subscription } from "./project-fixtures";
import { type Account, type ApiResponse, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// Hardening of the credentials: an organization's deletion reaches its API keys at once (and a write
// racing it answers 401/404, never 500); a token dated in the future cannot outlive the lifetime cap;
// JWT headers that name or carry a key are refused on every kind of token.

const HS256 = { alg: "HS256", typ: "JWT" };
const YEAR = 365 * 86400;

describeEachDb("deleting an organization: its API keys stop at once", (get) => {
  const list = (apiKey: string, projectId: string) => call(get(), "GET", `/subscribers/project/${projectId}`, { apiKey });
  const register = (apiKey: string) => call(get(), "POST", "/subscribers", { apiKey, body: subscription() });

  it("every key of every project of the organization is refused on the next request (reads and writes: 401, never 200 or 500)", async () => {
    const owner = await registerAccount(get(), "orgdel");
    const a = await projectWithKey(get(), owner);
    const b = await projectWithKey(get(), owner, { environment: "sandbox" });
    const bystander = await registerAccount(get(), "orgdel-other");
    const c = await projectWithKey(get(), bystander);
    // Each key is verified (and so cached) before the deletion.
    for (const k of [a, b, c]) {
      expect((await list(k.apiKey, k.projectId)).status).toBe(200);
      expect((await register(k.apiKey)).status).toBe(201);
    }
    const del = await call(get(), "DELETE", `/organizations/${owner.orgId}`, { token: owner.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: owner.orgId, deleted: true });
    for (const k of [a, b]) {
      expectEnvelope(await list(k.apiKey, k.projectId), 401, "Invalid API key");
      expectEnvelope(await register(k.apiKey), 401, "Invalid API key");
    }
    // Another organization's key is untouched.
    expect((await list(c.apiKey, c.projectId)).status).toBe(200);
    expect((await register(c.apiKey)).status).toBe(201);
  });

  it("a write whose organization was deleted under it (this instance not told yet) → 401 Invalid API key, not 500; later requests too", async () => {
    const owner = await registerAccount(get(), "orgrace");
    const k = await projectWithKey(get(), owner);
    expect((await list(k.apiKey, k.projectId)).status).toBe(200); // cached as valid
    // Deleted behind the server's back, as by another instance whose invalidation has not arrived:
    // the key still verifies from the cache and the insert meets a foreign key to a deleted project.
    await get().database.db.deleteFrom("organizations").where("id", "=", owner.orgId).execute();
    expectEnvelope(await register(k.apiKey), 401, "Invalid API key");
    // The failed write looked the key up again, so this instance forgot it: reads are refused too.
    expectEnvelope(await list(k.apiKey, k.projectId), 401, "Invalid API key");
    const left = await get().database.db.selectFrom("subscribers").select("id").where("projectId", "=", k.projectId).execute();
    expect(left).toHaveLength(0);
  });

  it("PostgreSQL: a dashboard write blocked on the deleting transaction gets 404, not 500 (project create; API key create)", async (ctx) => {
    if (get().dialect !== "postgres") ctx.skip(); // needs row locks to hold the request between its checks and its insert
    const db = get().database.db;

    /**
     * Starts `request` while a transaction holds the deletion `del` uncommitted: the request passes its
     * checks (the rows are still visible), then its insert waits on the foreign key's lock; the deletion
     * commits, and the insert fails on the foreign key.
     */
    const racing = async (del: (trx: Database["db"]) => Promise<unknown>, request: () => Promise<ApiResponse>) => {
      let response: Promise<ApiResponse> | undefined;
      await db.transaction().execute(async (trx) => {
        await del(trx);
        response = request();
        await waitForLockWait(db);
      });
      return response!;
    };

    const owner = await registerAccount(get(), "pgrace");
    const project = await createProject(get(), owner);
    const keyRes = await racing(
      (trx) => trx.deleteFrom("projects").where("id", "=", project.id).execute(),
      () => call(get(), "POST", `/projects/${project.id}/api-keys`, { token: owner.token, orgId: owner.orgId, body: { name: "late" } }),
    );
    expectEnvelope(keyRes, 404, "Project not found");

    const projRes = await racing(
      (trx) => trx.deleteFrom("organizations").where("id", "=", owner.orgId).execute(),
      () => call(get(), "POST", "/projects", { token: owner.token, orgId: owner.orgId, body: { name: "Late", environment: "live" } }),
    );
    expectEnvelope(projRes, 404, "Organization not found");
  });

  it("PostgreSQL: an API-key write blocked on the deleting transaction gets 401 Invalid API key, not 500", async (ctx) => {
    if (get().dialect !== "postgres") ctx.skip();
    const db = get().database.db;
    const owner = await registerAccount(get(), "pgrace-key");
    const k = await projectWithKey(get(), owner);
    expect((await list(k.apiKey, k.projectId)).status).toBe(200);
    let response: Promise<ApiResponse> | undefined;
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom("organizations").where("id", "=", owner.orgId).execute();
      response = register(k.apiKey);
      await waitForLockWait(db);
    });
    expectEnvelope(await response!, 401, "Invalid API key");
  });
});

/** Resolves once some other session of the database waits on a row lock (the racing insert). */
async function waitForLockWait(db: Database["db"]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await sql<{ n: string | number }>`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(db);
    if (Number(r.rows[0]?.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the racing request never waited on the deletion's lock");
}

describeEachDb("tokens dated in the future, and lifetime caps", (get) => {
  let p: TestPartner;
  let tenant: { id: string; externalId: string };
  let acct: Account;

  const expectInvalid = (res: ApiResponse) => {
    const body = expectEnvelope(res, 401, "Invalid or expired token");
    expect(Object.keys(withoutRequestId(body)).sort()).toEqual(["message", "statusCode"]);
  };
  const partnerToken = (times: { iat: number; exp: number }, header: Record<string, unknown> = HS256) =>
    handJwt(header, { partnerId: p.partnerId, type: "partner", ...times }, p.secret);
  const tenantToken = (times: { iat: number; exp: number }, header: Record<string, unknown> = HS256) =>
    handJwt(header, { partnerId: p.partnerId, tenantExternalId: tenant.externalId, externalId: "u1", email: "u1@tenant.example", name: "U One", ...times }, p.secret);
  const userToken = (times: { iat: number; exp: number }, header: Record<string, unknown> = HS256) => handJwt(header, userClaims(acct.userId, times), get().config.jwtSecret);

  /** The three kinds of token, each on a route it is accepted on. */
  const kinds = () => [
    { kind: "partner", use: (t: { iat: number; exp: number }, h?: Record<string, unknown>) => call(get(), "GET", "/partner/tenants", { token: partnerToken(t, h) }) },
    {
      kind: "partner on a tenant's organization",
      use: (t: { iat: number; exp: number }, h?: Record<string, unknown>) => call(get(), "GET", "/projects", { token: partnerToken(t, h), headers: { "reach-tenant-id": tenant.id } }),
    },
    { kind: "tenant", use: (t: { iat: number; exp: number }, h?: Record<string, unknown>) => call(get(), "GET", "/projects", { token: tenantToken(t, h) }) },
    { kind: "dashboard", use: (t: { iat: number; exp: number }, h?: Record<string, unknown>) => call(get(), "GET", "/auth/me", { token: userToken(t, h) }) },
  ];

  beforeAll(async () => {
    p = await newPartner(get(), "Hardening Platform");
    tenant = await newTenant(get(), p, uniqueExternalId("hard"));
    acct = await registerAccount(get(), "hard");
  });

  it("control: iat now, or a few seconds ahead (clock skew within the tolerance), is accepted for every kind", async () => {
    for (const { kind, use } of kinds()) {
      for (const iat of [nowS(), nowS() + 10]) {
        const res = await use({ iat, exp: iat + 600 });
        expect(res.status, `${kind} iat=now+${iat - nowS()}`).toBe(200);
      }
    }
  });

  it("iat ten years ahead with exp = iat + 1 h (inside the cap as exp - iat) → 401 Invalid or expired token", async () => {
    const iat = nowS() + 10 * YEAR;
    for (const { use } of kinds()) expectInvalid(await use({ iat, exp: iat + 3600 }));
  });

  it("iat beyond the clock tolerance is refused even when exp is near (exp before iat, or a few minutes ahead)", async () => {
    for (const { use } of kinds()) {
      expectInvalid(await use({ iat: nowS() + 10 * YEAR, exp: nowS() + 600 }));
      expectInvalid(await use({ iat: nowS() + 120, exp: nowS() + 600 }));
    }
  });

  it("exp further than the maximum lifetime from now is refused (partner 24 h; dashboard JWT_EXPIRES_IN, 7 d here)", async () => {
    const [partner, partnerOnTenant, tenantKind, dashboard] = kinds();
    for (const k of [partner!, partnerOnTenant!, tenantKind!]) expectInvalid(await k.use({ iat: nowS(), exp: nowS() + 25 * 3600 }));
    expectInvalid(await dashboard!.use({ iat: nowS(), exp: nowS() + 30 * 86400 }));
    // Right at the cap is fine.
    expect((await partner!.use({ iat: nowS(), exp: nowS() + 24 * 3600 })).status).toBe(200);
    expect((await dashboard!.use({ iat: nowS(), exp: nowS() + 7 * 86400 })).status).toBe(200);
  });

  it("key-naming headers (jku, x5u, jwk, x5c, kid) and crit are refused on every kind, however harmless their value", async () => {
    const secretJwk = { kty: "oct", k: Buffer.from(p.secret).toString("base64url") };
    const headers: Record<string, unknown>[] = [
      { jku: "https://attacker.example/.well-known/jwks.json" },
      { x5u: "https://attacker.example/cert.pem" },
      { jwk: secretJwk },
      { x5c: ["MIIBszCCAVmgAwIBAgIUQ"] },
      { kid: "1" },
      { crit: ["exp"] },
      { crit: [] },
      { jku: null },
    ];
    for (const { kind, use } of kinds()) {
      const times = { iat: nowS(), exp: nowS() + 600 };
      expect((await use(times, HS256)).status, kind).toBe(200);
      for (const extra of headers) {
        const res = await use(times, { ...HS256, ...extra });
        if (res.status !== 401) throw new Error(`${kind} with header ${JSON.stringify(extra)}: ${res.status}`);
        expectInvalid(res);
      }
    }
  });
});

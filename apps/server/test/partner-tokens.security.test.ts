import { createHmac } from "node:crypto";
import { SignJWT, generateKeyPair } from "jose";
import { beforeAll, expect, it } from "vitest";
import { deletePartner, rotatePartnerSecret } from "../src/services/partners";
import { b64url, withoutRequestId } from "./fixtures";
import { type TestPartner, newPartner, newTenant, nowSeconds, partnerJwt, signPartnerJwt, tenantJwt, uniqueExternalId } from "./partner-fixtures";
import { call, describeEachDb, expectEnvelope } from "./support";

// Attacks on partner- and tenant-scoped JWTs (SPEC §2.3, §2.4). Every forged, expired or misused
// token gets the same 401 "Invalid or expired token" (or 403 when a valid token is on the wrong
// kind of route), on partner routes and organization routes alike.

const parts = (t: string) => t.split(".") as [string, string, string];
const hs256 = (secret: string, header: object, claims: object) => {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};

describeEachDb("partner and tenant tokens: attacks", (get) => {
  let p: TestPartner;
  let other: TestPartner;
  let tenant: { id: string; externalId: string };
  let otherTenant: { id: string; externalId: string };

  /** A partner-route call and a tenant-route call with `token`. */
  const onPartnerRoute = (token: string) => call(get(), "GET", "/partner/tenants", { token });
  const onTenantRoute = (token: string, headers: Record<string, string> = {}) => call(get(), "GET", "/projects", { token, headers });

  const expectInvalid = async (res: Promise<Awaited<ReturnType<typeof call>>>) => {
    const body = expectEnvelope(await res, 401, "Invalid or expired token");
    // No hint of which check failed.
    expect(Object.keys(withoutRequestId(body)).sort()).toEqual(["message", "statusCode"]);
  };
  /** A forged partner token is refused on partner routes and (with the header) on tenant routes. */
  const expectPartnerTokenRejected = async (token: string) => {
    await expectInvalid(onPartnerRoute(token));
    await expectInvalid(onTenantRoute(token, { "reach-tenant-id": tenant.id }));
  };
  const expectTenantTokenRejected = async (token: string) => {
    await expectInvalid(onTenantRoute(token));
    await expectInvalid(call(get(), "GET", `/subscribers/project/proj_x`, { token }));
  };

  const partnerClaims = (over: Record<string, unknown> = {}) => ({ partnerId: p.partnerId, type: "partner", iat: nowSeconds(), exp: nowSeconds() + 600, ...over });
  const tenantClaims = (over: Record<string, unknown> = {}) => ({
    partnerId: p.partnerId,
    tenantExternalId: tenant.externalId,
    externalId: "u1",
    email: "u1@tenant.example",
    name: "U One",
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...over,
  });

  beforeAll(async () => {
    p = await newPartner(get(), "Victim Platform");
    other = await newPartner(get(), "Attacker Platform");
    tenant = await newTenant(get(), p, uniqueExternalId("victim"));
    otherTenant = await newTenant(get(), other, uniqueExternalId("attacker"));
  });

  it("control: well-formed partner and tenant tokens are accepted (so each rejection below is about its one change)", async () => {
    expect((await onPartnerRoute(hs256(p.secret, { alg: "HS256", typ: "JWT" }, partnerClaims()))).status).toBe(200);
    expect((await onTenantRoute(hs256(p.secret, { alg: "HS256", typ: "JWT" }, partnerClaims()), { "reach-tenant-id": tenant.externalId })).status).toBe(200);
    expect((await onTenantRoute(hs256(p.secret, { alg: "HS256", typ: "JWT" }, tenantClaims()))).status).toBe(200);
    expect((await onTenantRoute(await tenantJwt(p, tenant.externalId))).status).toBe(200);
  });

  it("alg none is rejected, in any spelling, with or without a signature", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      for (const claims of [partnerClaims(), tenantClaims()] as Record<string, unknown>[]) {
        const unsigned = `${b64url({ alg, typ: "JWT" })}.${b64url(claims)}.`;
        const [, , sig] = parts(hs256(p.secret, { alg: "HS256", typ: "JWT" }, claims));
        const withSig = `${b64url({ alg, typ: "JWT" })}.${b64url(claims)}.${sig}`;
        for (const t of [unsigned, withSig, unsigned.slice(0, -1)]) {
          if (claims.type === "partner") await expectPartnerTokenRejected(t);
          else await expectTenantTokenRejected(t);
        }
      }
    }
  });

  it("HS256 signed with a wrong secret is rejected (another partner's secret included)", async () => {
    await expectPartnerTokenRejected(hs256(`${p.secret}x`, { alg: "HS256" }, partnerClaims()));
    await expectPartnerTokenRejected(hs256(other.secret, { alg: "HS256" }, partnerClaims()));
    await expectTenantTokenRejected(hs256(other.secret, { alg: "HS256" }, tenantClaims()));
    await expectTenantTokenRejected(hs256("", { alg: "HS256" }, tenantClaims()));
  });

  it("RS256 and ES256 tokens are rejected, real asymmetric signatures and HMAC-under-RS/ES-header confusion alike", async () => {
    for (const alg of ["RS256", "ES256", "PS256", "EdDSA"] as const) {
      const { privateKey } = await generateKeyPair(alg, { extractable: true });
      const real = await new SignJWT(partnerClaims()).setProtectedHeader({ alg }).sign(privateKey);
      await expectPartnerTokenRejected(real);
      const realTenant = await new SignJWT(tenantClaims()).setProtectedHeader({ alg }).sign(privateKey);
      await expectTenantTokenRejected(realTenant);
      // The classic confusion: claim an asymmetric alg but sign with the shared secret as an HMAC key.
      await expectPartnerTokenRejected(hs256(p.secret, { alg, typ: "JWT" }, partnerClaims()));
      await expectTenantTokenRejected(hs256(p.secret, { alg, typ: "JWT" }, tenantClaims()));
    }
    for (const alg of ["HS384", "HS512"]) {
      const input = `${b64url({ alg })}.${b64url(partnerClaims())}`;
      const hash = alg === "HS384" ? "sha384" : "sha512";
      await expectPartnerTokenRejected(`${input}.${createHmac(hash, p.secret).update(input).digest("base64url")}`);
    }
  });

  it("a kid or crit header is rejected", async () => {
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256", kid: "k1" }, partnerClaims()));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256", kid: "../../etc/passwd" }, tenantClaims()));
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256", crit: ["exp"] }, partnerClaims()));
  });

  it("an expired token is rejected (beyond the small clock tolerance); a few seconds late still passes", async () => {
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ iat: nowSeconds() - 3600, exp: nowSeconds() - 120 })));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ iat: nowSeconds() - 3600, exp: nowSeconds() - 120 })));
    expect((await onPartnerRoute(hs256(p.secret, { alg: "HS256" }, partnerClaims({ iat: nowSeconds() - 600, exp: nowSeconds() - 5 })))).status).toBe(200);
  });

  it("nbf in the future is rejected", async () => {
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ nbf: nowSeconds() + 600 })));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ nbf: nowSeconds() + 600 })));
  });

  it("no exp is rejected (and no iat, which the lifetime check needs)", async () => {
    const { exp: _e, ...noExp } = partnerClaims();
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, noExp));
    const { exp: _e2, ...tenantNoExp } = tenantClaims();
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantNoExp));
    const { iat: _i, ...noIat } = partnerClaims();
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, noIat));
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ exp: "tomorrow" })));
  });

  it("a token living longer than PARTNER_TOKEN_MAX_LIFETIME (24 h) is refused; exactly 24 h is fine", async () => {
    const iat = nowSeconds() - 10;
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ iat, exp: iat + 24 * 3600 + 1 })));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ iat, exp: iat + 365 * 86400 })));
    // Backdating iat does not help: exp − iat is what counts.
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ iat: iat - 86400, exp: iat + 3600 })));
    expect((await onPartnerRoute(hs256(p.secret, { alg: "HS256" }, partnerClaims({ iat, exp: iat + 24 * 3600 })))).status).toBe(200);
  });

  it("a payload tampered after signing is rejected: another partner's id, another tenant, a raised role", async () => {
    const good = await partnerJwt(p);
    const [h, , s] = parts(good);
    await expectPartnerTokenRejected(`${h}.${b64url(partnerClaims({ partnerId: other.partnerId }))}.${s}`);
    await expectPartnerTokenRejected(`${h}.${b64url(partnerClaims({ exp: nowSeconds() + 3000 }))}.${s}`);
    const goodTenant = await tenantJwt(p, tenant.externalId, { role: "VIEWER" });
    const [th, , ts] = parts(goodTenant);
    await expectTenantTokenRejected(`${th}.${b64url(tenantClaims({ role: "OWNER" }))}.${ts}`);
    await expectTenantTokenRejected(`${th}.${b64url(tenantClaims({ partnerId: other.partnerId, tenantExternalId: otherTenant.externalId }))}.${ts}`);
    // Signature bytes flipped.
    await expectPartnerTokenRejected(`${h}.${parts(good)[1]}.${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`);
  });

  it("partnerId claiming another partner, signed with one's own secret, is rejected (keys are looked up by the claim)", async () => {
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ partnerId: other.partnerId })));
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ partnerId: "ptn_doesnotexist" })));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ partnerId: other.partnerId, tenantExternalId: otherTenant.externalId })));
  });

  it("a tenant token of one partner cannot name another partner's tenant", async () => {
    // Signed correctly by p, naming other's tenant externalId: p has no such tenant.
    const res = await onTenantRoute(await tenantJwt(p, otherTenant.externalId));
    expectEnvelope(res, 404, "Tenant not found");
    const byHeader = await onTenantRoute(await partnerJwt(p), { "reach-tenant-id": otherTenant.id });
    expectEnvelope(byHeader, 404, "Tenant not found");
  });

  it("malformed tenant claims are rejected: missing fields, wrong types, unknown role or type", async () => {
    for (const field of ["tenantExternalId", "externalId", "email", "name"]) {
      const c: Record<string, unknown> = tenantClaims();
      delete c[field];
      await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, c));
      await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ [field]: 42 })));
      await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ [field]: "" })));
    }
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ role: "SUPERUSER" })));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ role: "admin" })));
    await expectTenantTokenRejected(hs256(p.secret, { alg: "HS256" }, tenantClaims({ type: "user" })));
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ type: "Partner" })));
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ partnerId: 42 })));
  });

  it("a partner token is never a tenant token: on a tenant's place without the header it is 403, with tenant claims added 401", async () => {
    expectEnvelope(await onTenantRoute(await partnerJwt(p)), 403, "Missing reach-tenant-id header");
    expectEnvelope(await call(get(), "GET", `/subscribers/proj_x`, { token: await partnerJwt(p) }), 403, "Missing reach-tenant-id header");
    // A partner token dressed up with tenant claims is neither.
    await expectInvalid(onTenantRoute(await partnerJwt(p, { tenantExternalId: tenant.externalId, externalId: "u", email: "e@x.y", name: "n" })));
    await expectInvalid(onPartnerRoute(await partnerJwt(p, { tenantExternalId: tenant.externalId, externalId: "u", email: "e@x.y", name: "n" })));
  });

  it("a tenant token is never a partner token: /partner/* refuses it (403), with or without reach-tenant-id", async () => {
    const t = await tenantJwt(p, tenant.externalId, { role: "OWNER" });
    for (const [method, path, body] of [
      ["GET", "/partner/tenants", undefined],
      ["POST", "/partner/tenants", { externalId: "evil", name: "Evil" }],
      ["GET", `/partner/tenants/${tenant.id}`, undefined],
      ["PATCH", `/partner/tenants/${tenant.id}`, { name: "Evil" }],
      ["GET", "/api/partner/tenants", undefined],
    ] as const) {
      expectEnvelope(await call(get(), method, path, { token: t, ...(body ? { body } : {}) }), 403, "This route takes a partner JWT (Authorization: Bearer)");
      expectEnvelope(await call(get(), method, path, { token: t, headers: { "reach-tenant-id": tenant.id }, ...(body ? { body } : {}) }), 403);
    }
    const after = await call(get(), "GET", `/partner/tenants/${tenant.id}`, { token: await partnerJwt(p) });
    expect(after.body.name).not.toBe("Evil");
  });

  it("partner and tenant tokens are not dashboard tokens, and dashboard tokens are not partner tokens", async () => {
    expectEnvelope(await call(get(), "GET", "/auth/me", { token: await partnerJwt(p) }), 403);
    expectEnvelope(await call(get(), "GET", "/auth/me", { token: await tenantJwt(p, tenant.externalId) }), 403);
    // A token signed with a partner secret but without partnerId goes down the dashboard path and fails there.
    await expectInvalid(call(get(), "GET", "/auth/me", { token: await signPartnerJwt(p.secret, { sub: "usr_x", type: "user" }) }));
  });

  it("after a rotation the old secret verifies until the overlap ends, then never; the new one verifies at once", async () => {
    const q = await newPartner(get(), "Rotating Platform");
    const t = await newTenant(get(), q, uniqueExternalId("rot"));
    const oldPartnerToken = await partnerJwt(q);
    const oldTenantToken = await tenantJwt(q, t.externalId);
    const deps = get().app.deps;

    const rotated = await rotatePartnerSecret({ database: get().database, secrets: deps.secrets, clock: () => new Date() }, q.partnerId, 3600);
    const fresh: TestPartner = { partnerId: q.partnerId, secret: rotated.secret };
    expect(rotated.secret).not.toBe(q.secret);
    expect((await onPartnerRoute(oldPartnerToken)).status).toBe(200);
    expect((await onTenantRoute(oldTenantToken)).status).toBe(200);
    expect((await onPartnerRoute(await partnerJwt(fresh))).status).toBe(200);

    // A second rotation with no overlap retires every earlier secret at once (the leaked-secret case).
    const again = await rotatePartnerSecret({ database: get().database, secrets: deps.secrets, clock: () => new Date() }, q.partnerId, 0);
    await expectPartnerTokenRejected(oldPartnerToken);
    await expectTenantTokenRejected(oldTenantToken);
    await expectPartnerTokenRejected(await partnerJwt(fresh));
    expect((await onPartnerRoute(await partnerJwt({ partnerId: q.partnerId, secret: again.secret }))).status).toBe(200);
  });

  it("an overlap that has ended: the rotated-out secret is refused", async () => {
    const q = await newPartner(get(), "Rotated Long Ago");
    const old = await partnerJwt(q);
    const deps = get().app.deps;
    // Rotated two hours ago with a one-hour overlap.
    await rotatePartnerSecret({ database: get().database, secrets: deps.secrets, clock: () => new Date(Date.now() - 2 * 3600_000) }, q.partnerId, 3600);
    await expectPartnerTokenRejected(old);
  });

  it("the tokens of a deleted partner are refused, partner and tenant alike", async () => {
    const q = await newPartner(get(), "Leaving Platform");
    const t = await newTenant(get(), q, uniqueExternalId("gone"));
    const pt = await partnerJwt(q);
    const tt = await tenantJwt(q, t.externalId);
    expect((await onTenantRoute(tt)).status).toBe(200);
    await deletePartner({ database: get().database, secrets: get().app.deps.secrets, clock: () => new Date() }, q.partnerId);
    await expectPartnerTokenRejected(pt);
    await expectTenantTokenRejected(tt);
  });

  it("a secret sealed for one partner cannot be replayed as another's (AAD binds it to the partner id)", async () => {
    const db = get().database.db;
    const victimSecret = await db.selectFrom("partnerSecrets").select("secretEnc").where("partnerId", "=", p.partnerId).executeTakeFirstOrThrow();
    const q = await newPartner(get(), "Copycat");
    // Someone with database write access copies p's sealed secret onto q: it does not open for q.
    await db.updateTable("partnerSecrets").set({ secretEnc: victimSecret.secretEnc }).where("partnerId", "=", q.partnerId).execute();
    // An unusable secret is skipped: 401, not a 500.
    await expectPartnerTokenRejected(hs256(p.secret, { alg: "HS256" }, partnerClaims({ partnerId: q.partnerId })));
    await expectPartnerTokenRejected(await partnerJwt(q));
  });
});

describeEachDb(
  "partner and tenant tokens: a configured maximum lifetime",
  (get) => {
    it("PARTNER_TOKEN_MAX_LIFETIME=1h refuses a two-hour token and accepts a one-hour one", async () => {
      const p = await newPartner(get());
      const t = await newTenant(get(), p, uniqueExternalId("short"));
      const iat = nowSeconds();
      const tenant = (exp: number) => tenantJwt(p, t.externalId, { iat, exp });
      expectEnvelope(await call(get(), "GET", "/projects", { token: await tenant(iat + 7200) }), 401, "Invalid or expired token");
      expect((await call(get(), "GET", "/projects", { token: await tenant(iat + 3600) })).status).toBe(200);
      expectEnvelope(await call(get(), "GET", "/partner/tenants", { token: await partnerJwt(p, { iat, exp: iat + 3601 }) }), 401);
    });
  },
  { partnerTokenMaxLifetimeSeconds: 3600 },
);

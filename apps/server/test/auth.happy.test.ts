import { expect, it } from "vitest";
import { decodeJwt } from "./fixtures";
import { call, describeEachDb, registerAccount, uniqueEmail } from "./support";

const USR = /^usr_[0-9A-Z]{26}$/;
const ORG = /^org_[0-9A-Z]{26}$/;

describeEachDb("auth: register, login, me", (get) => {
  it("register answers 201 with the login response: token, user and the new organization as OWNER", async () => {
    const email = uniqueEmail("reg");
    const res = await call(get(), "POST", "/auth/register", {
      body: { email, password: "longenough1", name: "Ada Lovelace", organizationName: "Analytical Engines" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(Object.keys(res.body).sort()).toEqual(["access_token", "user"]);
    expect(Object.keys(res.body.user).sort()).toEqual(["email", "id", "name", "organizations"]);
    expect(res.body.user).toEqual({
      id: expect.stringMatching(USR),
      email,
      name: "Ada Lovelace",
      organizations: [{ id: expect.stringMatching(ORG), name: "Analytical Engines", role: "OWNER" }],
    });
    expect(res.body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // Nothing about the password travels back.
    expect(JSON.stringify(res.body)).not.toMatch(/password|argon2|longenough1/i);
  });

  it("the issued token is HS256, for that user, and lives JWT_EXPIRES_IN", async () => {
    const acct = await registerAccount(get(), "tok");
    const { header, claims } = decodeJwt(acct.token);
    expect(header.alg).toBe("HS256");
    expect(claims.sub).toBe(acct.userId);
    expect(claims.exp - claims.iat).toBe(get().config.jwtExpiresInSeconds);
    expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(60);
  });

  it("stores the email lower-cased; login works with any case", async () => {
    const lower = uniqueEmail("case");
    const mixed = lower.toUpperCase();
    const reg = await call(get(), "POST", "/auth/register", { body: { email: mixed, password: "longenough1", name: "N", organizationName: "O" } });
    expect(reg.status).toBe(201);
    expect(reg.body.user.email).toBe(lower);
    const login = await call(get(), "POST", "/auth/login", { body: { email: lower.toUpperCase(), password: "longenough1" } });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(reg.body.user.id);
  });

  it("trims the names it stores", async () => {
    const res = await call(get(), "POST", "/auth/register", {
      body: { email: uniqueEmail("trim"), password: "longenough1", name: "  Grace  ", organizationName: "  Navy  " },
    });
    expect(res.status).toBe(201);
    expect(res.body.user.name).toBe("Grace");
    expect(res.body.user.organizations[0].name).toBe("Navy");
  });

  it("login answers 200 with the same shape and a token that works", async () => {
    const acct = await registerAccount(get(), "login");
    const res = await call(get(), "POST", "/auth/login", { body: { email: acct.email, password: acct.password } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["access_token", "user"]);
    expect(res.body.user).toEqual({
      id: acct.userId,
      email: acct.email,
      name: "Name login",
      organizations: [{ id: acct.orgId, name: "Org login", role: "OWNER" }],
    });
    expect(decodeJwt(res.body.access_token).claims.sub).toBe(acct.userId);
    const me = await call(get(), "GET", "/auth/me", { token: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(res.body.user);
  });

  it("GET /auth/me returns the user and every organization with the caller's role", async () => {
    const acct = await registerAccount(get(), "me");
    const created = await call(get(), "POST", "/organizations", { token: acct.token, body: { name: "Second" } });
    expect(created.status).toBe(201);
    const me = await call(get(), "GET", "/auth/me", { token: acct.token });
    expect(me.status).toBe(200);
    expect(me.headers.get("x-request-id")).toMatch(/^req_/);
    expect(me.body.id).toBe(acct.userId);
    expect(me.body.email).toBe(acct.email);
    expect(me.body.organizations).toHaveLength(2);
    expect(me.body.organizations).toEqual(
      expect.arrayContaining([
        { id: acct.orgId, name: "Org me", role: "OWNER" },
        { id: created.body.id, name: "Second", role: "OWNER" },
      ]),
    );
  });

  it("the Bearer scheme is case-insensitive", async () => {
    const acct = await registerAccount(get(), "scheme");
    const me = await call(get(), "GET", "/auth/me", { headers: { authorization: `bearer ${acct.token}` } });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(acct.userId);
  });

  it("a user's token never grants another user's identity", async () => {
    const a = await registerAccount(get(), "a");
    const b = await registerAccount(get(), "b");
    expect((await call(get(), "GET", "/auth/me", { token: a.token })).body.id).toBe(a.userId);
    expect((await call(get(), "GET", "/auth/me", { token: b.token })).body.id).toBe(b.userId);
  });
});

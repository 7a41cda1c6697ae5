import { expect, it } from "vitest";
import { withoutRequestId } from "./fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount, uniqueEmail } from "./support";

const valid = () => ({ email: uniqueEmail("err"), password: "longenough1", name: "Name", organizationName: "Org" });
const paths = (body: any): string[] => body.errors.map((e: { path: string }) => e.path);

describeEachDb("auth: failures", (get) => {
  it("a duplicate email is 409, also when it differs only in case", async () => {
    const acct = await registerAccount(get(), "dup");
    const same = await call(get(), "POST", "/auth/register", { body: { ...valid(), email: acct.email } });
    expectEnvelope(same, 409, "Email already registered");
    const upper = await call(get(), "POST", "/auth/register", { body: { ...valid(), email: acct.email.toUpperCase() } });
    expectEnvelope(upper, 409, "Email already registered");
    // The failed attempts created nothing: the original password still logs in, there is one user.
    const login = await call(get(), "POST", "/auth/login", { body: { email: acct.email, password: acct.password } });
    expect(login.status).toBe(200);
    const rows = await get().database.db.selectFrom("users").select("id").where("email", "=", acct.email).execute();
    expect(rows).toHaveLength(1);
  });

  it("two registrations racing for one email: exactly one wins, the other is 409", async () => {
    const body = valid();
    const results = await Promise.all([1, 2, 3].map(() => call(get(), "POST", "/auth/register", { body })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expectEnvelope(r, 409, "Email already registered");
    const winner = results.find((r) => r.status === 201)!;
    const users = await get().database.db.selectFrom("users").select("id").where("email", "=", body.email).execute();
    expect(users.map((u) => u.id)).toEqual([winner.body.user.id]);
    // No losing registration left an organization behind without members.
    const orphaned = await get()
      .database.db.selectFrom("organizations")
      .leftJoin("memberships", "memberships.organizationId", "organizations.id")
      .select("organizations.id")
      .where("memberships.id", "is", null)
      .execute();
    expect(orphaned).toEqual([]);
  });

  it("a password under 8 characters is 422 naming password", async () => {
    const res = await call(get(), "POST", "/auth/register", { body: { ...valid(), password: "1234567" } });
    const b = expectEnvelope(res, 422, "Validation failed");
    expect(b.errors).toEqual([{ path: "password", message: expect.stringMatching(/8/) }]);
  });

  it("exactly 8 characters is enough", async () => {
    const res = await call(get(), "POST", "/auth/register", { body: { ...valid(), password: "12345678" } });
    expect(res.status).toBe(201);
  });

  it("an invalid email is 422 naming email", async () => {
    for (const email of ["not-an-email", "a@", "@example.test", "two@@example.test"]) {
      const res = await call(get(), "POST", "/auth/register", { body: { ...valid(), email } });
      const b = expectEnvelope(res, 422, "Validation failed");
      expect(paths(b)).toEqual(["email"]);
    }
  });

  it("missing fields are 422 naming each one", async () => {
    const res = await call(get(), "POST", "/auth/register", { body: {} });
    const b = expectEnvelope(res, 422, "Validation failed");
    expect(paths(b).sort()).toEqual(["email", "name", "organizationName", "password"]);
    for (const e of b.errors) expect(typeof e.message).toBe("string");

    const some = await call(get(), "POST", "/auth/register", { body: { email: uniqueEmail(), password: "longenough1" } });
    expect(paths(expectEnvelope(some, 422)).sort()).toEqual(["name", "organizationName"]);
  });

  it("blank names and wrong types are 422", async () => {
    const res = await call(get(), "POST", "/auth/register", { body: { ...valid(), name: "   ", organizationName: 42 } });
    expect(paths(expectEnvelope(res, 422)).sort()).toEqual(["name", "organizationName"]);
  });

  it("unknown email and wrong password get the same 401 body", async () => {
    const acct = await registerAccount(get(), "guess");
    const unknown = await call(get(), "POST", "/auth/login", { body: { email: uniqueEmail("ghost"), password: acct.password } });
    const wrong = await call(get(), "POST", "/auth/login", { body: { email: acct.email, password: "not the password" } });
    const short = await call(get(), "POST", "/auth/login", { body: { email: acct.email, password: "x" } });
    const a = expectEnvelope(unknown, 401, "Invalid email or password");
    const b = expectEnvelope(wrong, 401, "Invalid email or password");
    const c = expectEnvelope(short, 401, "Invalid email or password");
    expect(withoutRequestId(a)).toEqual(withoutRequestId(b));
    expect(withoutRequestId(c)).toEqual(withoutRequestId(b));
    expect(unknown.headers.get("www-authenticate")).toBe(wrong.headers.get("www-authenticate"));
  });

  it("login with missing fields is 422 naming each", async () => {
    const res = await call(get(), "POST", "/auth/login", { body: {} });
    expect(paths(expectEnvelope(res, 422)).sort()).toEqual(["email", "password"]);
  });

  it("GET /auth/me without a token is 401", async () => {
    expectEnvelope(await call(get(), "GET", "/auth/me"), 401, "Authentication required");
    expectEnvelope(await call(get(), "GET", "/auth/me", { headers: { authorization: "" } }), 401, "Authentication required");
  });

  it("a garbage token, or a credential that is not a Bearer token, is 401 Invalid or expired token", async () => {
    for (const authorization of ["Bearer garbage", "Bearer a.b.c", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer x y", "Token abc"]) {
      const res = await call(get(), "GET", "/auth/me", { headers: { authorization } });
      if (authorization === "Bearer ") expectEnvelope(res, 401);
      else expectEnvelope(res, 401, "Invalid or expired token");
    }
  });
});

import { expect, it } from "vitest";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("smoke", (get) => {
  it("registers, logs in and reads /auth/me", async () => {
    const acct = await registerAccount(get());
    const login = await call(get(), "POST", "/auth/login", { body: { email: acct.email, password: acct.password } });
    expect(login.status).toBe(200);
    const me = await call(get(), "GET", "/auth/me", { token: login.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.organizations[0].role).toBe("OWNER");
  });
  it("unknown route is an envelope", async () => {
    expectEnvelope(await call(get(), "GET", "/nope"), 404);
  });
});

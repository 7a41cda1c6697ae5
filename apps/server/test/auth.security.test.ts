import { randomBytes } from "node:crypto";
import { hmacKey, signHs256 } from "@reachbell/auth";
import { beforeAll, expect, it } from "vitest";
import { b64url, decodeJwt, handJwt, nowS, userClaims, withoutRequestId } from "./fixtures";
import { type Account, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

const HS256 = { alg: "HS256", typ: "JWT" };

describeEachDb("auth: JWT verification", (get) => {
  let acct: Account;
  let other: Account;
  const secret = () => get().config.jwtSecret;
  const me = (token: string) => call(get(), "GET", "/auth/me", { token });
  const expectRejected = async (token: string) => {
    const res = await me(token);
    const body = expectEnvelope(res, 401, "Invalid or expired token");
    // Every rejection looks the same: no hint of which check failed.
    expect(Object.keys(withoutRequestId(body)).sort()).toEqual(["message", "statusCode"]);
    // The same token is also refused on organization-scoped routes, before any organization lookup.
    expectEnvelope(await call(get(), "GET", `/organizations/${acct.orgId}`, { token }), 401, "Invalid or expired token");
  };

  beforeAll(async () => {
    acct = await registerAccount(get(), "sec");
    other = await registerAccount(get(), "sec-other");
  });

  it("control: a hand-made HS256 token with the server's secret is accepted (so the rejections below are about the one change each makes)", async () => {
    const res = await me(handJwt(HS256, userClaims(acct.userId), secret()));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(acct.userId);
  });

  it("an expired token is rejected (signed with jose through @reachbell/auth, exp in the past)", async () => {
    const past = Date.now() - 2 * 3600_000;
    const token = await signHs256({ sub: acct.userId, type: "user" }, hmacKey(secret()), 3600, past);
    expect(decodeJwt(token).claims.exp).toBeLessThan(nowS());
    await expectRejected(token);
    await expectRejected(handJwt(HS256, userClaims(acct.userId, { iat: nowS() - 600, exp: nowS() - 120 }), secret()));
  });

  it("a small clock tolerance applies: a token that expired seconds ago still works", async () => {
    const res = await me(handJwt(HS256, userClaims(acct.userId, { iat: nowS() - 600, exp: nowS() - 5 }), secret()));
    expect(res.status).toBe(200);
  });

  it("a token not yet valid (nbf well in the future) is rejected", async () => {
    await expectRejected(handJwt(HS256, userClaims(acct.userId, { nbf: nowS() + 3600 }), secret()));
  });

  it("alg none is rejected, in any spelling, with or without a signature", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      await expectRejected(handJwt({ alg, typ: "JWT" }, userClaims(acct.userId)));
    }
    const valid = handJwt(HS256, userClaims(acct.userId), secret());
    const [, payload, sig] = valid.split(".");
    await expectRejected(`${b64url({ alg: "none", typ: "JWT" })}.${payload}.${sig}`);
    await expectRejected(`${b64url({ alg: "none", typ: "JWT" })}.${payload}.`);
  });

  it("other algorithms are rejected even when signed with the right secret (algorithm pinned to HS256)", async () => {
    await expectRejected(handJwt({ alg: "HS512", typ: "JWT" }, userClaims(acct.userId), secret()));
    await expectRejected(handJwt({ alg: "HS384", typ: "JWT" }, userClaims(acct.userId), secret()));
    // RS/ES confusion: an asymmetric alg whose "signature" is an HMAC with the shared secret.
    const hs = handJwt(HS256, userClaims(acct.userId), secret());
    const [, payload, sig] = hs.split(".");
    for (const alg of ["RS256", "ES256", "PS256", "EdDSA"]) await expectRejected(`${b64url({ alg, typ: "JWT" })}.${payload}.${sig}`);
  });

  it("an unknown kid in the header is rejected", async () => {
    await expectRejected(handJwt({ ...HS256, kid: "k1" }, userClaims(acct.userId), secret()));
  });

  it("a token signed with another secret is rejected", async () => {
    await expectRejected(handJwt(HS256, userClaims(acct.userId), randomBytes(32)));
    // A prefix of the real secret is not the real secret.
    await expectRejected(handJwt(HS256, userClaims(acct.userId), secret().subarray(0, 16)));
  });

  it("a token without exp is rejected", async () => {
    const { exp: _exp, ...claims } = userClaims(acct.userId);
    await expectRejected(handJwt(HS256, claims, secret()));
  });

  it("a tampered payload is rejected: another user's id under the original signature", async () => {
    const real = acct.token;
    const [header, payload, sig] = real.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const forged = `${header}.${b64url({ ...claims, sub: other.userId })}.${sig}`;
    await expectRejected(forged);
    // Extending exp is tampering too.
    await expectRejected(`${header}.${b64url({ ...claims, exp: claims.exp + 3600 })}.${sig}`);
    // A flipped signature character.
    const flipped = sig!.startsWith("A") ? `B${sig!.slice(1)}` : `A${sig!.slice(1)}`;
    await expectRejected(`${header}.${payload}.${flipped}`);
    // The untouched token still works: the rejections are about the changes.
    expect((await me(real)).status).toBe(200);
  });

  it("a token of another kind (not type user) or without a subject is rejected", async () => {
    await expectRejected(handJwt(HS256, userClaims(acct.userId, { type: "partner" }), secret()));
    await expectRejected(handJwt(HS256, userClaims(acct.userId, { type: undefined }), secret()));
    await expectRejected(handJwt(HS256, userClaims(acct.userId, { sub: undefined }), secret()));
    await expectRejected(handJwt(HS256, userClaims(acct.userId, { sub: 42 }), secret()));
    await expectRejected(handJwt(HS256, userClaims("usr_01J00000000000000000000000"), secret()));
  });

  it("the token of a deleted user is rejected", async () => {
    const gone = await registerAccount(get(), "gone");
    expect((await me(gone.token)).status).toBe(200);
    await get().database.db.deleteFrom("users").where("id", "=", gone.userId).execute();
    await expectRejected(gone.token);
    expectEnvelope(await call(get(), "GET", "/organizations", { token: gone.token }), 401, "Invalid or expired token");
  });

  it("a token issued by this server before a user was deleted does not work for a new user with the same email", async () => {
    const first = await registerAccount(get(), "reuse");
    await get().database.db.deleteFrom("users").where("id", "=", first.userId).execute();
    const again = await call(get(), "POST", "/auth/register", { body: { email: first.email, password: "longenough1", name: "New", organizationName: "New" } });
    expect(again.status).toBe(201);
    expect(again.body.user.id).not.toBe(first.userId);
    await expectRejected(first.token);
  });
});

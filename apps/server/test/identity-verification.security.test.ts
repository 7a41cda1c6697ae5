import { createHmac } from "node:crypto";
import { expect, it } from "vitest";
import { registerSub } from "./project-fixtures";
import { SHOP, fromPage, projectWithPublishableKey } from "./publishable-fixtures";
import { type Account, type TestServer, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

// Identity verification: with it on, identify from a publishable key needs identityToken =
// hex(HMAC-SHA256(identity secret, externalId)), so a visitor holding the page's key cannot claim
// another user's id (and receive their transactional pushes). Full-scope keys identify without it.

const hmac = (secret: string, externalId: string) => createHmac("sha256", secret).update(externalId).digest("hex");
const REQUIRED = "This project verifies identities: identityToken is required (HMAC-SHA256 of externalId with the project's identity secret)";
const INVALID = "identityToken does not match externalId";

const rotate = (server: TestServer, owner: Account, projectId: string) => call(server, "POST", `/projects/${projectId}/identity-secret`, { token: owner.token, orgId: owner.orgId, body: {} });
const setVerification = (server: TestServer, owner: Account, projectId: string, on: boolean) =>
  call(server, "PATCH", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId, body: { identityVerification: on } });

/** A project with verification on: its keys, the secret, and a subscriber the page holds. */
async function verifiedProject(server: TestServer, tag: string) {
  const owner = await registerAccount(server, tag);
  const p = await projectWithPublishableKey(server, owner);
  const secret = (await rotate(server, owner, p.projectId)).body.identitySecret as string;
  expect((await setVerification(server, owner, p.projectId, true)).body.identityVerification).toBe(true);
  const sub = await registerSub(server, p.fullKey);
  return { owner, ...p, secret, sub };
}

const externalIdOf = async (server: TestServer, fullKey: string, subscriberId: string) => (await call(server, "GET", `/subscribers/${subscriberId}`, { apiKey: fullKey })).body.externalId;

describeEachDb("identity verification", (get) => {
  it("the identity secret is made by ADMIN+, shown once (256 bits hex), stored sealed, and never in the project", async () => {
    const owner = await registerAccount(get(), "secret");
    const { projectId } = await projectWithPublishableKey(get(), owner);
    const res = await rotate(get(), owner, projectId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ projectId, identitySecret: expect.stringMatching(/^[0-9a-f]{64}$/), createdAt: expect.any(String) });
    const project = await call(get(), "GET", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId });
    expect(project.body).toMatchObject({ identityVerification: false, identitySecretCreatedAt: res.body.createdAt });
    expect(JSON.stringify(project.body)).not.toContain(res.body.identitySecret);
    const row = await get().database.db.selectFrom("projects").select("identitySecretEnc").where("id", "=", projectId).executeTakeFirstOrThrow();
    expect(row.identitySecretEnc).toMatch(/^v1\./);
    expect(row.identitySecretEnc).not.toContain(res.body.identitySecret);

    const member = await registerAccount(get(), "secretmember");
    await call(get(), "POST", `/organizations/${owner.orgId}/members`, { token: owner.token, body: { email: member.email, role: "MEMBER" } });
    expectEnvelope(await call(get(), "POST", `/projects/${projectId}/identity-secret`, { token: member.token, orgId: owner.orgId, body: {} }), 403, "Your role does not allow this action");
    const stranger = await registerAccount(get(), "secretstranger");
    expectEnvelope(await call(get(), "POST", `/projects/${projectId}/identity-secret`, { token: stranger.token, orgId: stranger.orgId, body: {} }), 404, "Project not found");
  });

  it("verification cannot be turned on before a secret exists (409, nothing changes)", async () => {
    const owner = await registerAccount(get(), "nosecret");
    const { projectId } = await projectWithPublishableKey(get(), owner);
    expectEnvelope(await setVerification(get(), owner, projectId, true), 409, "Create the project's identity secret first (POST /projects/{projectId}/identity-secret)");
    expect((await call(get(), "GET", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId })).body.identityVerification).toBe(false);
  });

  it("publishable identify: right token → 200; missing or wrong → 403 and the subscriber keeps its id", async () => {
    const { fullKey, publishableKey, secret, sub } = await verifiedProject(get(), "verify");
    const identify = (body: Record<string, unknown>) => call(get(), "POST", "/subscribers/identify", fromPage(publishableKey, SHOP, { token: sub.token, ...body }));

    expectEnvelope(await identify({ externalId: "alice" }), 403, REQUIRED);
    expectEnvelope(await identify({ externalId: "alice", identityToken: "" }), 403, REQUIRED);
    for (const wrong of [hmac(secret, "bob"), hmac("0".repeat(64), "alice"), "0".repeat(64), "not-hex", hmac(secret, "alice").slice(0, 62), `${hmac(secret, "alice")}00`]) {
      expectEnvelope(await identify({ externalId: "alice", identityToken: wrong }), 403, INVALID);
    }
    expect(await externalIdOf(get(), fullKey, sub.id)).toBeNull();

    const ok = await identify({ externalId: "alice", identityToken: hmac(secret, "alice") });
    expect(ok.status).toBe(200);
    expect(ok.body.externalId).toBe("alice");
    // Hex in either case is the same token.
    expect((await identify({ externalId: "alice", identityToken: hmac(secret, "alice").toUpperCase() })).status).toBe(200);
    // Claiming another user with alice's token is refused.
    expectEnvelope(await identify({ externalId: "bob", identityToken: hmac(secret, "alice") }), 403, INVALID);
    expect(await externalIdOf(get(), fullKey, sub.id)).toBe("alice");
  });

  it("full-scope keys identify without a token; with verification off, publishable keys do too", async () => {
    const { owner, projectId, fullKey, publishableKey, sub } = await verifiedProject(get(), "fullid");
    const byServer = await call(get(), "POST", "/subscribers/identify", { apiKey: fullKey, body: { token: sub.token, externalId: "server-set" } });
    expect(byServer.status).toBe(200);
    await setVerification(get(), owner, projectId, false);
    const byPage = await call(get(), "POST", "/subscribers/identify", fromPage(publishableKey, SHOP, { token: sub.token, externalId: "page-set" }));
    expect(byPage.status).toBe(200);
    expect(byPage.body.externalId).toBe("page-set");
  });

  it("rotating the secret invalidates tokens made with the old one at once", async () => {
    const { owner, projectId, publishableKey, secret, sub } = await verifiedProject(get(), "rotate");
    const identify = (identityToken: string) => call(get(), "POST", "/subscribers/identify", fromPage(publishableKey, SHOP, { token: sub.token, externalId: "carol", identityToken }));
    expect((await identify(hmac(secret, "carol"))).status).toBe(200);
    const next = (await rotate(get(), owner, projectId)).body.identitySecret as string;
    expect(next).not.toBe(secret);
    expectEnvelope(await identify(hmac(secret, "carol")), 403, INVALID);
    expect((await identify(hmac(next, "carol"))).status).toBe(200);
  });

  it("the secret belongs to its project: another project's secret does not verify", async () => {
    const a = await verifiedProject(get(), "proja");
    const b = await verifiedProject(get(), "projb");
    expectEnvelope(
      await call(get(), "POST", "/subscribers/identify", fromPage(a.publishableKey, SHOP, { token: a.sub.token, externalId: "dave", identityToken: hmac(b.secret, "dave") })),
      403,
      INVALID,
    );
  });
});

import { TRPCClientError, createTRPCClient, httpLink } from "@trpc/client";
import { expect, it } from "vitest";
import type { AppRouter } from "../src/routers";
import { addMember, decodeJwt, memberIdOf, rejection, trpcClient } from "./fixtures";
import { type ApiResponse, type TestServer, call, describeEachDb, expectEnvelope, registerAccount, uniqueEmail } from "./support";

/** A tRPC client that also records each HTTP response, to compare x-request-id and status with the error's data. */
function recordingClient(server: TestServer, token?: string) {
  const responses: Response[] = [];
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server.url}/trpc`,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
        fetch: async (url, init) => {
          const res = await fetch(url, init as RequestInit);
          responses.push(res);
          return res;
        },
      }),
    ],
  });
  return { client, last: () => responses[responses.length - 1]! };
}

/** Runs the same failing call over REST and tRPC; asserts the same status, message, extra fields and a requestId. */
async function expectSameFailure(server: TestServer, rest: Promise<ApiResponse>, trpc: (c: ReturnType<typeof recordingClient>["client"]) => Promise<unknown>, token: string | undefined, status: number) {
  const restRes = await rest;
  const envelope = expectEnvelope(restRes, status);
  const rec = recordingClient(server, token);
  const err = await rejection(() => trpc(rec.client));
  expect(err).toBeInstanceOf(TRPCClientError);
  expect(err.message).toBe(envelope.message);
  expect(err.data.httpStatus).toBe(status);
  expect(err.data.requestId).toMatch(/^req_/);
  expect(err.data.requestId).toBe(rec.last().headers.get("x-request-id"));
  expect(err.data.requestId).not.toBe(envelope.requestId);
  expect(rec.last().status).toBe(status);
  if (envelope.errors) expect(err.data.errors).toEqual(envelope.errors);
  expect(JSON.stringify(err.shape)).not.toMatch(/\bat .+:\d+:\d+|stack/i);
  return err;
}

describeEachDb("tRPC at /trpc", (get) => {
  it("register and login work and return the REST shapes", async () => {
    const email = uniqueEmail("trpc");
    const c = trpcClient(get());
    const reg = await c.auth.register.mutate({ email, password: "longenough1", name: "T", organizationName: "T Org" });
    expect(Object.keys(reg).sort()).toEqual(["access_token", "user"]);
    expect(reg.user).toEqual({ id: expect.stringMatching(/^usr_/), email, name: "T", organizations: [{ id: expect.stringMatching(/^org_/), name: "T Org", role: "OWNER" }] });
    const viaTrpc = await c.auth.login.mutate({ email, password: "longenough1" });
    const viaRest = await call(get(), "POST", "/auth/login", { body: { email, password: "longenough1" } });
    expect(viaRest.status).toBe(200);
    expect(viaTrpc.user).toEqual(viaRest.body.user);
    expect(decodeJwt(viaTrpc.access_token).claims.sub).toBe(reg.user.id);
    // A tRPC-issued token works on REST and the other way round.
    expect((await call(get(), "GET", "/auth/me", { token: viaTrpc.access_token })).body).toEqual(reg.user);
    expect(await trpcClient(get(), viaRest.body.access_token).auth.me.query({})).toEqual(reg.user);
  });

  it("reads return bodies identical to REST", async () => {
    const owner = await registerAccount(get(), "same");
    await addMember(get(), owner, "VIEWER");
    const c = trpcClient(get(), owner.token);
    expect(await c.auth.me.query({})).toEqual((await call(get(), "GET", "/auth/me", { token: owner.token })).body);
    expect(await c.organizations.list.query({})).toEqual((await call(get(), "GET", "/organizations", { token: owner.token })).body);
    expect(await c.organizations.list.query({ limit: 1 })).toEqual((await call(get(), "GET", "/organizations?limit=1", { token: owner.token })).body);
    expect(await c.organizations.get.query({ orgId: owner.orgId })).toEqual((await call(get(), "GET", `/organizations/${owner.orgId}`, { token: owner.token })).body);
    const members = await c.members.list.query({ orgId: owner.orgId });
    expect(members.data).toHaveLength(2);
    expect(members).toEqual((await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token })).body);
  });

  it("a call without input works like an empty one (GET /trpc/auth.me)", async () => {
    const owner = await registerAccount(get(), "noinput");
    const res = await fetch(`${get().url}/trpc/auth.me`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.result.data.id).toBe(owner.userId);
    const list = await fetch(`${get().url}/trpc/organizations.list`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(list.status).toBe(200);
  });

  it("organization writes work and agree with REST", async () => {
    const owner = await registerAccount(get(), "writes");
    const c = trpcClient(get(), owner.token);
    const created = await c.organizations.create.mutate({ name: "Via tRPC" });
    expect(created).toMatchObject({ id: expect.stringMatching(/^org_/), name: "Via tRPC", role: "OWNER", plan: "FREE" });
    expect((await call(get(), "GET", `/organizations/${created.id}`, { token: owner.token })).body).toEqual(created);
    const renamed = await c.organizations.update.mutate({ orgId: created.id, name: "Renamed via tRPC" });
    expect(renamed.name).toBe("Renamed via tRPC");
    expect((await call(get(), "GET", `/organizations/${created.id}`, { token: owner.token })).body).toEqual(renamed);
    expect(await c.organizations.delete.mutate({ orgId: created.id })).toEqual({ id: created.id, deleted: true });
    expectEnvelope(await call(get(), "GET", `/organizations/${created.id}`, { token: owner.token }), 404, "Organization not found");
  });

  it("member writes work and agree with REST", async () => {
    const owner = await registerAccount(get(), "mwrites");
    const invitee = await registerAccount(get(), "minvitee");
    const c = trpcClient(get(), owner.token);
    const added = await c.members.add.mutate({ orgId: owner.orgId, email: invitee.email, role: "MEMBER" });
    expect(added).toMatchObject({ userId: invitee.userId, organizationId: owner.orgId, role: "MEMBER" });
    const listed = (await call(get(), "GET", `/organizations/${owner.orgId}/members`, { token: owner.token })).body.data;
    expect(listed).toContainEqual(added);
    const updated = await c.members.update.mutate({ orgId: owner.orgId, memberId: added.id, role: "ADMIN" });
    expect(updated).toEqual({ ...added, role: "ADMIN" });
    expect((await trpcClient(get(), invitee.token).organizations.get.query({ orgId: owner.orgId })).role).toBe("ADMIN");
    expect(await c.members.remove.mutate({ orgId: owner.orgId, memberId: added.id })).toEqual({ id: added.id, deleted: true });
    expectEnvelope(await call(get(), "GET", `/organizations/${owner.orgId}`, { token: invitee.token }), 404);
  });

  it("batched calls work (httpBatchLink)", async () => {
    const owner = await registerAccount(get(), "batch");
    const c = trpcClient(get(), owner.token, { batch: true });
    const [me, orgs, org] = await Promise.all([c.auth.me.query({}), c.organizations.list.query({}), c.organizations.get.query({ orgId: owner.orgId })]);
    expect(me.id).toBe(owner.userId);
    expect(orgs.data.map((o) => o.id)).toEqual([owner.orgId]);
    expect(org.id).toBe(owner.orgId);
    // One failing call in a batch fails alone, with its own message and status.
    const [ok, bad] = await Promise.allSettled([c.auth.me.query({}), c.organizations.get.query({ orgId: "org_missing" })]);
    expect(ok.status).toBe("fulfilled");
    expect(bad.status).toBe("rejected");
    const reason = (bad as PromiseRejectedResult).reason;
    expect(reason.message).toBe("Organization not found");
    expect(reason.data.httpStatus).toBe(404);
    expect(reason.data.requestId).toMatch(/^req_/);
  });

  it("401s carry the same message, httpStatus and a requestId", async () => {
    await expectSameFailure(get(), call(get(), "GET", "/auth/me"), (c) => c.auth.me.query({}), undefined, 401);
    await expectSameFailure(get(), call(get(), "GET", "/auth/me", { token: "garbage" }), (c) => c.auth.me.query({}), "garbage", 401);
    const acct = await registerAccount(get(), "t401");
    await expectSameFailure(
      get(),
      call(get(), "POST", "/auth/login", { body: { email: acct.email, password: "wrong password" } }),
      (c) => c.auth.login.mutate({ email: acct.email, password: "wrong password" }),
      undefined,
      401,
    );
  });

  it("403, 404 and 409 carry the same message and httpStatus", async () => {
    const owner = await registerAccount(get(), "t4xx");
    const stranger = await registerAccount(get(), "t4xx-stranger");
    const { account: viewer } = await addMember(get(), owner, "VIEWER");
    await expectSameFailure(
      get(),
      call(get(), "PATCH", `/organizations/${owner.orgId}`, { token: viewer.token, body: { name: "no" } }),
      (c) => c.organizations.update.mutate({ orgId: owner.orgId, name: "no" }),
      viewer.token,
      403,
    );
    await expectSameFailure(
      get(),
      call(get(), "GET", `/organizations/${owner.orgId}`, { token: stranger.token }),
      (c) => c.organizations.get.query({ orgId: owner.orgId }),
      stranger.token,
      404,
    );
    await expectSameFailure(
      get(),
      call(get(), "POST", `/organizations/${owner.orgId}/members`, { token: owner.token, body: { email: uniqueEmail("ghost"), role: "VIEWER" } }),
      (c) => c.members.add.mutate({ orgId: owner.orgId, email: uniqueEmail("ghost"), role: "VIEWER" }),
      owner.token,
      404,
    );
    await expectSameFailure(
      get(),
      call(get(), "POST", "/auth/register", { body: { email: owner.email, password: "longenough1", name: "a", organizationName: "b" } }),
      (c) => c.auth.register.mutate({ email: owner.email, password: "longenough1", name: "a", organizationName: "b" }),
      undefined,
      409,
    );
    const ownerMember = await memberIdOf(get(), owner.token, owner.orgId, owner.userId);
    const err = await expectSameFailure(
      get(),
      call(get(), "PATCH", `/organizations/${owner.orgId}/members/${ownerMember}`, { token: owner.token, body: { role: "ADMIN" } }),
      (c) => c.members.update.mutate({ orgId: owner.orgId, memberId: ownerMember, role: "ADMIN" }),
      owner.token,
      409,
    );
    expect(err.message).toBe("An organization must keep at least one OWNER");
  });

  it("422 carries data.errors naming each field, as on REST", async () => {
    const bad = { email: "nope", password: "short", name: "", organizationName: "x" };
    const err = await expectSameFailure(
      get(),
      call(get(), "POST", "/auth/register", { body: bad }),
      (c) => c.auth.register.mutate(bad),
      undefined,
      422,
    );
    expect(err.message).toBe("Validation failed");
    expect(err.data.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "name", "password"]);
  });
});

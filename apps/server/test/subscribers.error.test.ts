import { createECDH, randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { rejection, trpcClient } from "./fixtures";
import { projectWithKey, registerSub, subscription } from "./project-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

/** 65 bytes that look like an uncompressed point (0x04 prefix) but are not on P-256. */
function offCurvePoint(): string {
  const good = Buffer.from(subscription().p256dh, "base64url");
  good[64] = good[64]! ^ 0x01; // flip a bit of y
  return good.toString("base64url");
}

describeEachDb("subscribers: errors", (get) => {
  const paths = (body: any) => (body.errors as { path: string }[]).map((e) => e.path);

  it("422 names each invalid field of a registration", async () => {
    const owner = await registerAccount(get(), "val");
    const { apiKey, projectId } = await projectWithKey(get(), owner);
    const compressed = (() => {
      const e = createECDH("prime256v1");
      e.generateKeys();
      return e.getPublicKey(undefined, "compressed").toString("base64url");
    })();
    const cases: [Record<string, unknown>, string][] = [
      [{ endpoint: "not a url" }, "endpoint"],
      [{ endpoint: "ftp://push.example.com/x" }, "endpoint"],
      [{ endpoint: `https://push.example.com/${"a".repeat(2030)}` }, "endpoint"],
      [{ endpoint: undefined }, "endpoint"],
      [{ p256dh: randomBytes(64).toString("base64url") }, "p256dh"],
      [{ p256dh: compressed }, "p256dh"],
      [{ p256dh: offCurvePoint() }, "p256dh"],
      [{ p256dh: Buffer.concat([Buffer.of(0x05), randomBytes(64)]).toString("base64url") }, "p256dh"],
      [{ p256dh: `${subscription().p256dh.slice(0, 86)}+` }, "p256dh"],
      [{ auth: randomBytes(15).toString("base64url") }, "auth"],
      [{ auth: randomBytes(17).toString("base64url") }, "auth"],
      [{ auth: "!!!!!!!!!!!!!!!!!!!!!!" }, "auth"],
      [{ timezone: "Europe/Atlantis" }, "timezone"],
      [{ timezone: "+02:00" }, "timezone"],
      [{ language: "not a language tag" }, "language"],
      [{ userAgent: "x".repeat(1025) }, "userAgent"],
      [{ projectId: 42 }, "projectId"],
    ];
    for (const [override, path] of cases) {
      const body = { ...subscription(), ...override };
      const env = expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body }), 422, "Validation failed");
      expect(paths(env), JSON.stringify(override).slice(0, 80)).toContain(path);
    }
    expect(await get().database.db.selectFrom("subscribers").select("id").where("projectId", "=", projectId).execute()).toHaveLength(0);
  });

  it("422 for the PushSubscription.toJSON() shape names keys.p256dh / keys.auth, and says how to give the keys when they are missing or doubled; tRPC answers the same", async () => {
    const owner = await registerAccount(get(), "valjson");
    const { apiKey, projectId } = await projectWithKey(get(), owner);
    const { endpoint, p256dh, auth } = subscription();
    const REQUIRED = "Required: give p256dh and auth, or keys: {p256dh, auth} as PushSubscription.toJSON() has them";
    const cases: [Record<string, unknown>, { path: string; message: string | RegExp }[]][] = [
      [{ endpoint, keys: { p256dh: 42, auth } }, [{ path: "keys.p256dh", message: /expected string/ }]],
      [{ endpoint, keys: { p256dh: randomBytes(64).toString("base64url"), auth } }, [{ path: "keys.p256dh", message: "Must be base64url of a 65-byte uncompressed P-256 point" }]],
      [{ endpoint, keys: { p256dh: offCurvePoint(), auth } }, [{ path: "keys.p256dh", message: "Must be base64url of a 65-byte uncompressed P-256 point that lies on the curve" }]],
      [{ endpoint, keys: { p256dh, auth: randomBytes(15).toString("base64url") } }, [{ path: "keys.auth", message: "Must be base64url of 16 bytes" }]],
      [{ endpoint, keys: { p256dh } }, [{ path: "keys.auth", message: /expected string/ }]],
      [{ endpoint, keys: null }, [{ path: "keys", message: /expected object/ }]],
      [{ endpoint, expirationTime: null }, [{ path: "p256dh", message: REQUIRED }, { path: "auth", message: REQUIRED }]],
      [{ endpoint, p256dh }, [{ path: "auth", message: REQUIRED }]],
      [{ endpoint, p256dh, auth, keys: { p256dh, auth } }, [{ path: "p256dh", message: /^Given both p256dh and keys\.p256dh/ }, { path: "auth", message: /^Given both auth and keys\.auth/ }]],
      [{ endpoint, keys: { p256dh, auth }, expirationTime: "soon" }, [{ path: "expirationTime", message: /expected number/ }]],
    ];
    const trpc = trpcClient(get(), undefined, { headers: { "x-api-key": apiKey } });
    for (const [body, expected] of cases) {
      const env = expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body }), 422, "Validation failed");
      const label = JSON.stringify(body).slice(0, 120);
      expect(env.errors, label).toHaveLength(expected.length);
      expected.forEach((e, i) => {
        expect(env.errors[i].path, label).toBe(e.path);
        if (typeof e.message === "string") expect(env.errors[i].message, label).toBe(e.message);
        else expect(env.errors[i].message, label).toMatch(e.message);
      });
      const err = await rejection<any>(() => trpc.subscribers.register.mutate(body as never));
      expect(err.data.httpStatus, label).toBe(422);
      expect(err.data.errors, label).toEqual(env.errors);
    }
    expect(await get().database.db.selectFrom("subscribers").select("id").where("projectId", "=", projectId).execute()).toHaveLength(0);
  });

  it("the same endpoint again → 409 carrying the subscriber", async () => {
    const owner = await registerAccount(get(), "conflict");
    const { apiKey } = await projectWithKey(get(), owner);
    const s = subscription();
    const first = await call(get(), "POST", "/subscribers", { apiKey, body: s });
    const env = expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body: s }), 409, "A subscriber with this endpoint already exists in this project");
    expect(env.subscriber).toEqual(first.body);
  });

  it("10 concurrent identical registrations create exactly one row; the others get 409 with it", async () => {
    const owner = await registerAccount(get(), "race");
    const { projectId, apiKey } = await projectWithKey(get(), owner);
    const s = subscription();
    const results = await Promise.all(Array.from({ length: 10 }, () => call(get(), "POST", "/subscribers", { apiKey, body: s })));
    const created = results.filter((r) => r.status === 201);
    const conflicts = results.filter((r) => r.status === 409);
    expect(created).toHaveLength(1);
    expect(conflicts).toHaveLength(9);
    for (const c of conflicts) expect(c.body.subscriber.id).toBe(created[0]!.body.id);
    const rows = await get().database.db.selectFrom("subscribers").select("id").where("projectId", "=", projectId).where("endpoint", "=", s.endpoint).execute();
    expect(rows).toHaveLength(1);
  });

  it("10 concurrent re-registrations of an unsubscribed subscriber reactivate it once", async () => {
    const owner = await registerAccount(get(), "rerace");
    const { apiKey } = await projectWithKey(get(), owner);
    const s = subscription();
    const sub = await call(get(), "POST", "/subscribers", { apiKey, body: s });
    await call(get(), "DELETE", `/subscribers/${sub.body.id}`, { apiKey });
    const results = await Promise.all(Array.from({ length: 10 }, () => call(get(), "POST", "/subscribers", { apiKey, body: subscription(s.endpoint) })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    expect(results.every((r) => (r.body.subscriber ?? r.body).id === sub.body.id)).toBe(true);
  });

  it("tags: a 65-character tag → 422; the 101st tag → 422 and nothing changes", async () => {
    const owner = await registerAccount(get(), "taglim");
    const { apiKey } = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), apiKey);
    const long = expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: ["x".repeat(65)] } }), 422, "Validation failed");
    expect(paths(long)).toEqual(["add.0"]);
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: [""] } }), 422);
    const tooMany = Array.from({ length: 101 }, (_, i) => `t${i}`);
    expect(paths(expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: tooMany } }), 422))).toEqual(["add"]);

    const hundred = tooMany.slice(0, 100);
    expect((await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: hundred } })).status).toBe(200);
    const over = expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: ["one-more", "t0"] } }), 422, "Validation failed");
    expect(over.errors).toEqual([{ path: "add", message: "A subscriber can have at most 100 tags (this would make 101)" }]);
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey })).body.tags).toHaveLength(100);
    // Removing one in the same request makes room.
    const swap = await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, remove: ["t0"], add: ["one-more"] } });
    expect(swap.status).toBe(200);
    expect(swap.body.tags).toContain("one-more");
    expect(swap.body.tags).toHaveLength(100);
  });

  it("tags by externalId: one subscriber over the limit rolls back the change for all of them", async () => {
    const owner = await registerAccount(get(), "tagroll");
    const { apiKey } = await projectWithKey(get(), owner);
    const full = await registerSub(get(), apiKey);
    const light = await registerSub(get(), apiKey);
    for (const s of [full, light]) await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: s.token, externalId: "u" } });
    await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: full.token, add: Array.from({ length: 100 }, (_, i) => `t${i}`) } });
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { externalId: "u", add: ["new"] } }), 422);
    expect((await call(get(), "GET", `/subscribers/${light.id}`, { apiKey })).body.tags).toEqual([]);
  });

  it("tags and identify need a subscriber: exactly one of token or externalId; unknown → 404", async () => {
    const owner = await registerAccount(get(), "tag404");
    const { apiKey } = await projectWithKey(get(), owner);
    const sub = await registerSub(get(), apiKey);
    expect(paths(expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { add: ["a"] } }), 422))).toEqual(["token"]);
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, externalId: "x", add: ["a"] } }), 422);
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { token: "tok_nope", add: ["a"] } }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "POST", "/subscribers/tags", { apiKey, body: { externalId: "nobody", add: ["a"] } }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: "tok_nope", externalId: "u" } }), 404, "Subscriber not found");
    expect(paths(expectEnvelope(await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: sub.token } }), 422))).toEqual(["externalId"]);
    expect(paths(expectEnvelope(await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: sub.token, externalId: "x".repeat(201) } }), 422))).toEqual(["externalId"]);
  });

  it("unknown subscriber id → 404 Subscriber not found; bad list parameters → 422", async () => {
    const owner = await registerAccount(get(), "get404");
    const { projectId, apiKey } = await projectWithKey(get(), owner);
    expectEnvelope(await call(get(), "GET", "/subscribers/sub_01HX0000000000000000000000", { apiKey }), 404, "Subscriber not found");
    expectEnvelope(await call(get(), "DELETE", "/subscribers/sub_01HX0000000000000000000000", { apiKey }), 404, "Subscriber not found");
    for (const [q, path] of [
      ["limit=101", "limit"],
      ["limit=0", "limit"],
      ["limit=abc", "limit"],
      ["status=gone", "status"],
      [`tag=${"x".repeat(65)}`, "tag"],
    ] as const) {
      expect(paths(expectEnvelope(await call(get(), "GET", `/subscribers/project/${projectId}?${q}`, { apiKey }), 422))).toEqual([path]);
    }
  });
});

describeEachDb(
  "subscribers: endpoint guard (push endpoints restricted to public https)",
  (get) => {
    it("http: and private-address endpoints → 422 on endpoint", async () => {
      const owner = await registerAccount(get(), "guard");
      const { apiKey } = await projectWithKey(get(), owner);
      for (const endpoint of ["http://push.example.com/x", "https://127.0.0.1/x", "https://10.0.0.8/push", "https://[::1]/x", "https://user:pw@push.example.com/x"]) {
        const env = expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body: subscription(endpoint) }), 422, "Validation failed");
        expect(env.errors.map((e: { path: string }) => e.path), endpoint).toEqual(["endpoint"]);
      }
      expect((await call(get(), "POST", "/subscribers", { apiKey, body: subscription("https://updates.push.services.mozilla.com/wpush/v2/abc") })).status).toBe(201);
    });
  },
  { pushAllowInsecureEndpoints: false },
);

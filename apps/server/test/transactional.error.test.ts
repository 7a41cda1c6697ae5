import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("transactional send: bad requests and idempotency", (get) => {
  let peer: PushServicePeer;
  let owner: Account;
  let apiKey: string;
  let token: string;
  let browserId: string;
  beforeAll(async () => {
    peer = await startPushServicePeer();
    owner = await registerAccount(get(), "txerr");
    ({ apiKey } = await createProjectWithKey(get(), owner));
    const browser = peer.createSubscriber();
    browserId = browser.id;
    token = (await registerSubscriber(get(), apiKey, browser)).token;
  });
  afterAll(() => peer.close());
  const sentTo = () => peer.received.filter((r) => r.id === browserId).length;

  it("malformed bodies get the envelope, not 200, and send nothing", async () => {
    const before = sentTo();
    const missingTitle = expectEnvelope(await call(get(), "POST", "/transactional/send", { apiKey, body: { token, body: "x" } }), 422);
    expect(missingTitle.errors.map((e: any) => e.path)).toContain("title");
    expectEnvelope(await sendPush(get(), apiKey, { token, externalId: "both" }), 422);
    expectEnvelope(await sendPush(get(), apiKey, {}), 422);
    expectEnvelope(await sendPush(get(), apiKey, { token, urgency: "asap" }), 422);
    expectEnvelope(await sendPush(get(), apiKey, { token, ttl: -1 }), 422);
    expectEnvelope(await sendPush(get(), apiKey, { token, url: "javascript:alert(1)" }), 422);
    expectEnvelope(await call(get(), "POST", "/transactional/send", { apiKey, rawBody: "{nope", headers: { "content-type": "application/json" } }), 400);
    expect(sentTo()).toBe(before);
  });

  it("bad or missing credentials: 401; a dashboard JWT is not accepted here", async () => {
    expectEnvelope(await call(get(), "POST", "/transactional/send", { body: { token, title: "t", body: "b" } }), 401);
    expectEnvelope(await sendPush(get(), "rb_live_notarealkeynotarealkeynotarealkey", { token }), 401, "Invalid API key");
    expectEnvelope(await call(get(), "POST", "/transactional/send", { token: owner.token, orgId: owner.orgId, body: { token, title: "t", body: "b" } }), 403);
  });

  it("a payload that would not fit 4,096 encrypted bytes → 422 naming the limit, nothing written", async () => {
    const before = sentTo();
    const res = expectEnvelope(await sendPush(get(), apiKey, { token, body: "x".repeat(3500), title: "y".repeat(600) }), 422);
    expect(res.message).toMatch(/4096/);
    expect(sentTo()).toBe(before);
    // Just under the limit is fine: the JSON envelope plus content must total ≤ 3993 plaintext bytes.
    const ok = await sendPush(get(), apiKey, { token, title: "t", body: "z".repeat(3800) });
    expect(ok.status).toBe(200);
    expect(ok.body.delivered).toBe(true);
  });

  it("Idempotency-Key replays the first response and sends nothing more", async () => {
    const before = sentTo();
    const headers = { "Idempotency-Key": `order-${Date.now()}` };
    const first = await sendPush(get(), apiKey, { token, title: "Once" }, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await sendPush(get(), apiKey, { token, title: "Once" }, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(sentTo()).toBe(before + 1);
    // Same key, different body → 422.
    expectEnvelope(await sendPush(get(), apiKey, { token, title: "Twice" }, headers), 422, /Idempotency-Key/);
    expect(sentTo()).toBe(before + 1);
  });

  it("Idempotency-Key still in flight → 409", async () => {
    const browser = peer.createSubscriber();
    peer.script(browser.id, [{ status: 429, headers: { "retry-after": "1" } }, { status: 201 }]);
    const slow = (await registerSubscriber(get(), apiKey, browser)).token;
    const headers = { "Idempotency-Key": `slow-${Date.now()}` };
    const first = sendPush(get(), apiKey, { token: slow }, headers);
    await new Promise((r) => setTimeout(r, 300));
    expectEnvelope(await sendPush(get(), apiKey, { token: slow }, headers), 409, /in progress/);
    expect((await first).body.delivered).toBe(true);
  });

  it("a message of another project is not found", async () => {
    const other = await createProjectWithKey(get(), owner);
    const res = await sendPush(get(), apiKey, { token });
    expectEnvelope(await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey: other.apiKey }), 404);
    const stranger = await registerAccount(get(), "stranger");
    expectEnvelope(await call(get(), "GET", `/messages/${res.body.messageId}`, { token: stranger.token, orgId: stranger.orgId }), 404);
  });
}, { pushAllowInsecureEndpoints: true });

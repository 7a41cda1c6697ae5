import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, call, describeEachDb, registerAccount } from "./support";

describeEachDb("transactional send: delivery", (get) => {
  let peer: PushServicePeer;
  let owner: Account;
  beforeAll(async () => {
    peer = await startPushServicePeer();
    owner = await registerAccount(get(), "tx");
  });
  afterAll(() => peer.close());

  it("encrypts to the subscriber's keys, signs with the project's VAPID key, and records the message", async () => {
    const { apiKey, vapidPublicKey } = await createProjectWithKey(get(), owner);
    const browser = peer.createSubscriber();
    peer.expectVapidKey(browser.id, vapidPublicKey);
    const sub = await registerSubscriber(get(), apiKey, browser);
    const res = await sendPush(get(), apiKey, { token: sub.token, title: "Order shipped", body: "Your order is on its way", url: "https://shop.example/o/1", iconUrl: "https://shop.example/i.png", ttl: 600, urgency: "high" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, subscriberFound: true, delivered: true, deactivated: false, reason: null, sandbox: false });
    expect(res.body.messageId).toMatch(/^msg_/);
    const got = peer.received.filter((r) => r.id === browser.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.payload).toEqual({
      title: "Order shipped",
      body: "Your order is on its way",
      url: "https://shop.example/o/1",
      iconUrl: "https://shop.example/i.png",
      imageUrl: null,
      badge: null,
      messageId: res.body.messageId,
    });
    expect(got[0]!.headers.ttl).toBe("600");
    expect(got[0]!.headers.urgency).toBe("high");
    expect(got[0]!.vapid.aud).toBe(peer.origin);

    const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
    expect(msg.status).toBe(200);
    expect(msg.body).toMatchObject({ id: res.body.messageId, subscriberId: sub.id, status: "delivered", reason: null, pushStatus: 201, sandbox: false });
    expect(msg.body.attempts).toHaveLength(1);
    expect(msg.body.attempts[0].status).toBe(201);
    // The dashboard sees the same message.
    const viaOrg = await call(get(), "GET", `/messages/${res.body.messageId}`, { token: owner.token, orgId: owner.orgId });
    expect(viaOrg.status).toBe(200);
    expect(viaOrg.body.id).toBe(res.body.messageId);
  });

  it("by externalId reaches every active subscriber of that user and reports each", async () => {
    const { apiKey } = await createProjectWithKey(get(), owner);
    const a = peer.createSubscriber();
    const b = peer.createSubscriber();
    const sa = await registerSubscriber(get(), apiKey, a);
    const sb = await registerSubscriber(get(), apiKey, b);
    for (const s of [sa, sb]) expect((await call(get(), "POST", "/subscribers/identify", { apiKey, body: { token: s.token, externalId: "user-42" } })).status).toBe(200);
    const res = await sendPush(get(), apiKey, { externalId: "user-42" });
    expect(res.body).toMatchObject({ success: true, delivered: true, subscriberFound: true });
    expect(res.body.deliveries.map((d: any) => d.subscriberId).sort()).toEqual([sa.id, sb.id].sort());
    expect(peer.received.filter((r) => r.id === a.id || r.id === b.id)).toHaveLength(2);
  });

  it("retries a 429 honouring Retry-After, then delivers; every attempt is recorded", async () => {
    const { apiKey } = await createProjectWithKey(get(), owner);
    const browser = peer.createSubscriber();
    peer.script(browser.id, [{ status: 429, headers: { "retry-after": "1" } }, { status: 201 }]);
    const sub = await registerSubscriber(get(), apiKey, browser);
    const res = await sendPush(get(), apiKey, { token: sub.token });
    expect(res.body).toMatchObject({ delivered: true, reason: null });
    const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
    expect(msg.body.attempts.map((a: any) => a.status)).toEqual([429, 201]);
  });

  it("sandbox projects run every check and build the message but never contact the push service", async () => {
    const { apiKey } = await createProjectWithKey(get(), owner, { environment: "sandbox" });
    expect(apiKey.startsWith("rb_test_")).toBe(true);
    const browser = peer.createSubscriber();
    const sub = await registerSubscriber(get(), apiKey, browser);
    const before = peer.requestCount;
    const res = await sendPush(get(), apiKey, { token: sub.token });
    expect(res.body).toMatchObject({ success: true, delivered: true, sandbox: true, reason: null });
    expect(peer.requestCount).toBe(before);
    const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
    expect(msg.body).toMatchObject({ status: "simulated", sandbox: true, pushStatus: null });
    // Checks still run in the sandbox: an unknown token is reported as such.
    expect((await sendPush(get(), apiKey, { token: "tok_unknown" })).body).toMatchObject({ subscriberFound: false, reason: "subscriber_not_found", sandbox: true });
  });
}, { pushAllowInsecureEndpoints: true });

import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, call, describeEachDb, registerAccount } from "./support";

// Every reason code of SPEC §4 that the push service or the subscriber's state decides.
describeEachDb("transactional send: outcomes", (get) => {
  let peer: PushServicePeer;
  let owner: Account;
  let apiKey: string;
  beforeAll(async () => {
    peer = await startPushServicePeer();
    owner = await registerAccount(get(), "outcomes");
    ({ apiKey } = await createProjectWithKey(get(), owner));
  });
  afterAll(() => peer.close());

  const subscriberScripted = async (responses: { status: number; headers?: Record<string, string> }[]) => {
    const browser = peer.createSubscriber();
    peer.script(browser.id, responses);
    return { browser, sub: await registerSubscriber(get(), apiKey, browser) };
  };

  it("unknown token or externalId → subscriber_not_found, nothing sent", async () => {
    for (const target of [{ token: "tok_doesnotexist" }, { externalId: "nobody" }]) {
      const res = await sendPush(get(), apiKey, target);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: false, subscriberFound: false, delivered: false, deactivated: false, reason: "subscriber_not_found", messageId: null });
    }
  });

  it("an unsubscribed subscriber → subscriber_unsubscribed, nothing sent", async () => {
    const { browser, sub } = await subscriberScripted([]);
    expect((await call(get(), "DELETE", `/subscribers/${sub.id}`, { apiKey })).status).toBe(200);
    const res = await sendPush(get(), apiKey, { token: sub.token });
    expect(res.body).toMatchObject({ subscriberFound: true, delivered: false, reason: "subscriber_unsubscribed" });
    expect(peer.received.some((r) => r.id === browser.id)).toBe(false);
  });

  for (const status of [404, 410]) {
    it(`push service ${status} → subscriber expired, deactivated, provider_error`, async () => {
      const { sub } = await subscriberScripted([{ status }]);
      const res = await sendPush(get(), apiKey, { token: sub.token });
      expect(res.body).toMatchObject({ success: false, subscriberFound: true, delivered: false, deactivated: true, reason: "provider_error" });
      const after = await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey });
      expect(after.body.status).toBe("expired");
      const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
      expect(msg.body).toMatchObject({ status: "failed", reason: "provider_error", pushStatus: status });
      expect(msg.body.attempts).toHaveLength(1);
      // Later sends see the subscriber as gone.
      expect((await sendPush(get(), apiKey, { token: sub.token })).body.reason).toBe("subscriber_unsubscribed");
    });
  }

  for (const status of [400, 413]) {
    it(`push service ${status} → provider_error without retry or deactivation`, async () => {
      const { sub } = await subscriberScripted([{ status }]);
      const res = await sendPush(get(), apiKey, { token: sub.token });
      expect(res.body).toMatchObject({ delivered: false, deactivated: false, reason: "provider_error" });
      const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
      expect(msg.body.attempts.map((a: any) => a.status)).toEqual([status]);
      expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey })).body.status).toBe("active");
    });
  }

  it("persistent 5xx → retried with backoff, then provider_error", async () => {
    const { sub } = await subscriberScripted([{ status: 500 }, { status: 502 }, { status: 503 }]);
    const res = await sendPush(get(), apiKey, { token: sub.token });
    expect(res.body).toMatchObject({ delivered: false, deactivated: false, reason: "provider_error" });
    const msg = await call(get(), "GET", `/messages/${res.body.messageId}`, { apiKey });
    expect(msg.body.attempts.map((a: any) => a.status)).toEqual([500, 502, 503]);
    expect(msg.body.status).toBe("failed");
  });
}, { pushAllowInsecureEndpoints: true });

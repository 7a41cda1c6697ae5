import { testDialects } from "@reachbell/db";
import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjectWithKey, registerSubscriber, sendPush } from "./push-fixtures";
import { type Account, type TestServer, call, registerAccount, startServer } from "./support";

// Quiet hours and frequency caps, with the server's clock under the test's control.
for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`transactional send: delivery policy [${d.dialect}]`, () => {
    let server: TestServer;
    let peer: PushServicePeer;
    let owner: Account;
    let now = new Date("2026-03-10T23:30:00Z");
    beforeAll(async () => {
      peer = await startPushServicePeer();
      server = await startServer(d.dialect, { pushAllowInsecureEndpoints: true }, () => now);
      owner = await registerAccount(server, "policy");
    });
    afterAll(async () => {
      await server.close();
      await peer.close();
    });

    it("quiet hours crossing midnight, in the subscriber's timezone, else the project's", async () => {
      const policy = { quietHours: { start: "22:00", end: "08:00" }, frequencyCap: null };
      const { apiKey } = await createProjectWithKey(server, owner, { timezone: "UTC", deliveryPolicy: policy });
      const utc = await registerSubscriber(server, apiKey, peer.createSubscriber()); // no timezone: project's UTC
      const tokyo = await registerSubscriber(server, apiKey, peer.createSubscriber(), { timezone: "Asia/Tokyo" });
      const ny = await registerSubscriber(server, apiKey, peer.createSubscriber(), { timezone: "America/New_York" });

      now = new Date("2026-03-10T23:30:00Z"); // UTC 23:30 (quiet), Tokyo 08:30 (not), New York 19:30 (not)
      expect((await sendPush(server, apiKey, { token: utc.token })).body).toMatchObject({ delivered: false, reason: "quiet_hours", subscriberFound: true });
      expect((await sendPush(server, apiKey, { token: tokyo.token })).body).toMatchObject({ delivered: true, reason: null });
      expect((await sendPush(server, apiKey, { token: ny.token })).body).toMatchObject({ delivered: true, reason: null });

      now = new Date("2026-03-11T04:00:00Z"); // UTC 04:00 (quiet, after midnight), New York 00:00 (quiet), Tokyo 13:00 (not)
      expect((await sendPush(server, apiKey, { token: utc.token })).body.reason).toBe("quiet_hours");
      expect((await sendPush(server, apiKey, { token: ny.token })).body.reason).toBe("quiet_hours");
      expect((await sendPush(server, apiKey, { token: tokyo.token })).body.reason).toBeNull();

      now = new Date("2026-03-11T08:00:00Z"); // the end is exclusive
      expect((await sendPush(server, apiKey, { token: utc.token })).body.reason).toBeNull();
    });

    it("frequency cap counts delivered pushes per subscriber in the window", async () => {
      now = new Date("2026-03-11T12:00:00Z");
      const { apiKey } = await createProjectWithKey(server, owner, { deliveryPolicy: { quietHours: null, frequencyCap: { max: 2, windowSeconds: 3600 } } });
      const browser = peer.createSubscriber();
      const sub = await registerSubscriber(server, apiKey, browser);
      const reasons = [];
      for (let i = 0; i < 3; i++) reasons.push((await sendPush(server, apiKey, { token: sub.token })).body.reason);
      expect(reasons).toEqual([null, null, "frequency_capped"]);
      const capped = await sendPush(server, apiKey, { token: sub.token });
      const msg = await call(server, "GET", `/messages/${capped.body.messageId}`, { apiKey });
      expect(msg.body).toMatchObject({ status: "skipped", reason: "frequency_capped" });
      now = new Date("2026-03-11T13:00:01Z"); // the window has moved past both deliveries
      expect((await sendPush(server, apiKey, { token: sub.token })).body.reason).toBeNull();
      expect(peer.received.filter((r) => r.id === browser.id)).toHaveLength(3);
    });

    it("failed deliveries do not count against the cap", async () => {
      now = new Date("2026-03-12T12:00:00Z");
      const { apiKey } = await createProjectWithKey(server, owner, { deliveryPolicy: { quietHours: null, frequencyCap: { max: 1, windowSeconds: 3600 } } });
      const browser = peer.createSubscriber();
      peer.script(browser.id, [{ status: 400 }, { status: 201 }]);
      const sub = await registerSubscriber(server, apiKey, browser);
      expect((await sendPush(server, apiKey, { token: sub.token })).body.reason).toBe("provider_error");
      expect((await sendPush(server, apiKey, { token: sub.token })).body.reason).toBeNull();
      expect((await sendPush(server, apiKey, { token: sub.token })).body.reason).toBe("frequency_capped");
    });

    it("the cap holds under concurrent sends", async () => {
      now = new Date("2026-03-13T12:00:00Z");
      const { apiKey } = await createProjectWithKey(server, owner, { deliveryPolicy: { quietHours: null, frequencyCap: { max: 3, windowSeconds: 3600 } } });
      const browser = peer.createSubscriber();
      const sub = await registerSubscriber(server, apiKey, browser);
      const results = await Promise.all(Array.from({ length: 12 }, () => sendPush(server, apiKey, { token: sub.token })));
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(results.filter((r) => r.body.delivered)).toHaveLength(3);
      expect(results.filter((r) => r.body.reason === "frequency_capped")).toHaveLength(9);
      expect(peer.received.filter((r) => r.id === browser.id)).toHaveLength(3);
    });
  });
}

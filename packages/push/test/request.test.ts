import { createECDH, randomBytes } from "node:crypto";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemblePushRequest, buildPushRequest, encryptPushPayload, type PushRequest } from "../src/request";
import { createPushSender } from "../src/sender";
import { startPushServicePeer, type PushServicePeer } from "../src/testing";
import { VapidSigner } from "../src/vapid";
import { generateVapidKeys } from "../src/vapid-keys";

const SUBJECT = "mailto:ops@reachbell.example";
let peer: PushServicePeer;
const sender = createPushSender({ allowInsecure: true, timeoutMs: 5000 });
const keys = generateVapidKeys();
const vapid = new VapidSigner({ ...keys, subject: SUBJECT });

beforeAll(async () => {
  peer = await startPushServicePeer();
});
afterAll(async () => {
  sender.close();
  await peer.close();
});

describe("encryptPushPayload + assemblePushRequest (encryption done elsewhere, e.g. a worker thread)", () => {
  it("make the same request as buildPushRequest, and the peer decrypts it", async () => {
    const browser = peer.createSubscriber();
    const options = { subscription: browser, vapid, urgency: "high" as const, ttl: 60 };
    const split = assemblePushRequest(options, encryptPushPayload(browser, '{"split":true}'));
    const whole = buildPushRequest({ ...options, payload: '{"split":true}' });
    expect(split.url).toBe(whole.url);
    expect(split.headers).toEqual(whole.headers); // same length, same cached VAPID header
    expect((await sender.send(split)).status).toBe(201);
    expect(peer.received.at(-1)?.payload).toEqual({ split: true });
  });

  it("each half throws the typed errors of its inputs", () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
        return "none";
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    expect(codeOf(() => encryptPushPayload({ p256dh: "!!", auth: browserKeys().auth }, "x"))).toBe("invalid_p256dh");
    expect(codeOf(() => encryptPushPayload(browserKeys(), "x".repeat(5000)))).toBe("payload_too_large");
    expect(codeOf(() => assemblePushRequest({ subscription: { endpoint: "ftp://x" }, vapid }, Buffer.alloc(100)))).toBe("invalid_endpoint");
    expect(codeOf(() => assemblePushRequest({ subscription: { endpoint: "https://push.example/x" }, vapid, ttl: -1 }, Buffer.alloc(100)))).toBe("invalid_ttl");
  });
});

describe("buildPushRequest", () => {
  it("builds the RFC 8030/8291/8292 request", () => {
    const sub = { endpoint: "https://fcm.googleapis.com/fcm/send/abc", ...browserKeys() };
    const req = buildPushRequest({ subscription: sub, payload: "hello", vapid, urgency: "high", topic: "news_1", ttl: 60 });
    expect(req.url).toBe("https://fcm.googleapis.com/fcm/send/abc");
    expect(req.method).toBe("POST");
    expect(req.headers).toMatchObject({
      "Content-Encoding": "aes128gcm",
      "Content-Type": "application/octet-stream",
      "Content-Length": String(req.body.length),
      TTL: "60",
      Urgency: "high",
      Topic: "news_1",
    });
    expect(req.headers.Authorization).toMatch(/^vapid t=.+, k=/);
    expect(req.body.length).toBe(86 + 5 + 1 + 16);
  });

  it("defaults TTL to 24 h and urgency to normal, and omits Topic", () => {
    const req = buildPushRequest({ subscription: { endpoint: "https://push.example/x", ...browserKeys() }, payload: "x", vapid });
    expect(req.headers.TTL).toBe("86400");
    expect(req.headers.Urgency).toBe("normal");
    expect(req.headers).not.toHaveProperty("Topic");
  });

  it("rejects invalid options with typed codes", () => {
    const subscription = { endpoint: "https://push.example/x", ...browserKeys() };
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
        return "none";
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    const build = (extra: Record<string, unknown>) => () =>
      buildPushRequest({ subscription, payload: "x", vapid, ...extra } as Parameters<typeof buildPushRequest>[0]);
    expect(codeOf(build({ ttl: -1 }))).toBe("invalid_ttl");
    expect(codeOf(build({ ttl: 2_419_201 }))).toBe("invalid_ttl");
    expect(codeOf(build({ ttl: 1.5 }))).toBe("invalid_ttl");
    expect(codeOf(build({ ttl: 2_419_200 }))).toBe("none");
    expect(codeOf(build({ urgency: "urgent" }))).toBe("invalid_urgency");
    expect(codeOf(build({ topic: "a".repeat(33) }))).toBe("invalid_topic");
    expect(codeOf(build({ topic: "a".repeat(32) }))).toBe("none");
    expect(codeOf(build({ topic: "has space" }))).toBe("invalid_topic");
    expect(codeOf(build({ topic: "a+b" }))).toBe("invalid_topic");
    expect(codeOf(build({ topic: "" }))).toBe("invalid_topic");
    expect(codeOf(build({ payload: "é".repeat(2000) }))).toBe("payload_too_large"); // 4000 UTF-8 bytes
    expect(codeOf(build({ subscription: { ...subscription, endpoint: "not a url" } }))).toBe("invalid_endpoint");
    expect(codeOf(build({ subscription: { ...subscription, endpoint: "ftp://push.example/x" } }))).toBe("invalid_endpoint");
    expect(codeOf(build({ subscription: { ...subscription, p256dh: "%%%" } }))).toBe("invalid_p256dh");
    expect(codeOf(build({ subscription: { ...subscription, p256dh: subscription.p256dh.slice(0, 80) } }))).toBe(
      "invalid_p256dh",
    );
    expect(codeOf(build({ subscription: { ...subscription, auth: "AAAA" } }))).toBe("invalid_auth");
  });
});

describe("against the push-service peer (real HTTP on 127.0.0.1)", () => {
  it("a request built by this package is accepted and decrypted", async () => {
    const sub = peer.createSubscriber();
    peer.expectVapidKey(sub.id, keys.publicKey);
    const payload = { title: "Order shipped", body: "Parcel 42 is on its way", url: "/orders/42" };
    const res = await sender.send(
      buildPushRequest({ subscription: sub, payload: JSON.stringify(payload), vapid, topic: "order42", urgency: "low" }),
    );
    expect(res.status).toBe(201);
    const got = peer.received.find((r) => r.id === sub.id);
    expect(got?.payload).toEqual(payload);
    expect(got?.vapid).toMatchObject({ aud: peer.origin, sub: SUBJECT, publicKey: keys.publicKey });
    expect(got?.headers.topic).toBe("order42");
    expect(got?.headers.urgency).toBe("low");
  });

  it("a maximal 3993-byte payload is accepted (body is exactly 4096 bytes)", async () => {
    const sub = peer.createSubscriber();
    const req = buildPushRequest({ subscription: sub, payload: "x".repeat(3993), vapid });
    expect(req.body.length).toBe(4096);
    expect((await sender.send(req)).status).toBe(201);
    expect(peer.received.find((r) => r.id === sub.id)?.text.length).toBe(3993);
  });

  it("a request built by the web-push package is accepted too (the peer is not tailored to us)", async () => {
    const sub = peer.createSubscriber();
    const details = webpush.generateRequestDetails(
      { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
      "from web-push",
      { vapidDetails: { subject: SUBJECT, publicKey: keys.publicKey, privateKey: keys.privateKey }, TTL: 60 },
    );
    const res = await sender.send(fromWebPush(details));
    expect(res.status).toBe(201);
    expect(peer.received.find((r) => r.id === sub.id)?.payload).toBe("from web-push");
  });

  it("the peer enforces the 4096-byte limit (web-push does not check it)", async () => {
    const sub = peer.createSubscriber();
    const details = webpush.generateRequestDetails(
      { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
      "x".repeat(3994),
      { vapidDetails: { subject: SUBJECT, publicKey: keys.publicKey, privateKey: keys.privateKey } },
    );
    const res = await sender.send(fromWebPush(details));
    expect(res.status).toBe(413);
  });

  it("rejects a VAPID key other than the one the subscription expects (403)", async () => {
    const sub = peer.createSubscriber();
    peer.expectVapidKey(sub.id, generateVapidKeys().publicKey);
    const res = await sender.send(buildPushRequest({ subscription: sub, payload: "x", vapid }));
    expect(res.status).toBe(403);
    expect(peer.rejected).toContainEqual({ id: sub.id, status: 403, reason: "vapid_key_mismatch" });
  });

  it("rejects a token signed for another audience (401)", async () => {
    const sub = peer.createSubscriber();
    const req = buildPushRequest({ subscription: sub, payload: "x", vapid });
    req.headers.Authorization = vapid.authorizationForAudience("https://fcm.googleapis.com");
    expect((await sender.send(req)).status).toBe(401);
    expect(peer.rejected).toContainEqual({ id: sub.id, status: 401, reason: "vapid_audience_mismatch" });
  });

  it("rejects an expired token (signer clock 13 h behind the peer)", async () => {
    const sub = peer.createSubscriber();
    const stale = new VapidSigner({ ...keys, subject: SUBJECT, now: () => Date.now() - 13 * 3_600_000 });
    expect((await sender.send(buildPushRequest({ subscription: sub, payload: "x", vapid: stale }))).status).toBe(401);
    expect(peer.rejected).toContainEqual({ id: sub.id, status: 401, reason: "vapid_expired" });
  });

  it("rejects a missing TTL and a body encrypted for another subscriber (400)", async () => {
    const sub = peer.createSubscriber();
    const noTtl = buildPushRequest({ subscription: sub, payload: "x", vapid });
    delete noTtl.headers.TTL;
    expect((await sender.send(noTtl)).status).toBe(400);
    const other = peer.createSubscriber();
    const wrongKeys = buildPushRequest({ subscription: { ...other, endpoint: sub.endpoint }, payload: "x", vapid });
    expect((await sender.send(wrongKeys)).status).toBe(400);
    expect(peer.rejected.filter((r) => r.id === sub.id).map((r) => r.reason)).toEqual([
      "missing_or_invalid_ttl",
      "decrypt_auth_failed",
    ]);
  });

  it("answers 404 for an unknown subscription", async () => {
    const sub = peer.createSubscriber();
    const req = buildPushRequest({ subscription: { ...sub, endpoint: peer.endpointFor("nobody") }, payload: "x", vapid });
    expect((await sender.send(req)).status).toBe(404);
  });
});

/** Subscription keys as a browser makes them, for requests that never reach the peer. */
function browserKeys() {
  const ecdh = createECDH("prime256v1");
  return { p256dh: ecdh.generateKeys().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

function fromWebPush(details: { endpoint: string; headers: Record<string, unknown>; body: Buffer | null }): PushRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(details.headers)) headers[k] = String(v);
  return { url: details.endpoint, method: "POST", headers, body: details.body ?? Buffer.alloc(0) };
}


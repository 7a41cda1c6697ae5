import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPushRequest } from "../src/request";
import { classifySendResult, parseRetryAfter, sendWithRetry } from "../src/retry";
import { createPushSender, type SendResult } from "../src/sender";
import { startPushServicePeer, type PushServicePeer } from "../src/testing";
import { VapidSigner } from "../src/vapid";
import { generateVapidKeys } from "../src/vapid-keys";

let peer: PushServicePeer;
const sender = createPushSender({ allowInsecure: true, timeoutMs: 200 });
const vapid = new VapidSigner({ ...generateVapidKeys(), subject: "mailto:ops@reachbell.example" });

beforeAll(async () => {
  peer = await startPushServicePeer();
});
afterAll(async () => {
  sender.close();
  await peer.close();
});

/** Records requested waits instead of sleeping. */
function fakeSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

function scripted(responses: Parameters<PushServicePeer["script"]>[1]) {
  const sub = peer.createSubscriber();
  peer.script(sub.id, responses);
  return { sub, request: buildPushRequest({ subscription: sub, payload: "retry me", vapid }) };
}

describe("sendWithRetry against the peer", () => {
  it("429 with Retry-After: 1, then 201 → delivered after 2 attempts, waiting 1 s", async () => {
    const { sub, request } = scripted([{ status: 429, headers: { "Retry-After": "1" } }, { status: 201 }]);
    const { waits, sleep } = fakeSleep();
    const result = await sendWithRetry(sender, request, { sleep });
    expect(result.outcome).toBe("delivered");
    expect(result.status).toBe(201);
    expect(result.attempts.map((a) => a.status)).toEqual([429, 201]);
    expect(result.attempts[0]?.waitMs).toBe(1000);
    expect(waits).toEqual([1000]);
    expect(peer.received.filter((r) => r.id === sub.id)).toHaveLength(2);
  });

  it("500 three times → provider_error after 3 attempts with growing backoff", async () => {
    const { request } = scripted([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 201 }]);
    const { waits, sleep } = fakeSleep();
    const result = await sendWithRetry(sender, request, { sleep, random: () => 0.5 });
    expect(result.outcome).toBe("provider_error");
    expect(result.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(waits).toEqual([188, 375]); // 250·2^n · (½ + ½·0.5)
    for (const a of result.attempts) expect(a.at).toBeGreaterThan(0);
  });

  it("410 → gone, no retry", async () => {
    const { request } = scripted([{ status: 410 }]);
    const { waits, sleep } = fakeSleep();
    const result = await sendWithRetry(sender, request, { sleep });
    expect(result).toMatchObject({ outcome: "gone", status: 410 });
    expect(result.attempts).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("404 → gone; 400 and 413 → provider_error; none retried", async () => {
    for (const [status, outcome] of [
      [404, "gone"],
      [400, "provider_error"],
      [413, "provider_error"],
      [403, "provider_error"],
    ] as const) {
      const { request } = scripted([{ status }]);
      const result = await sendWithRetry(sender, request, { sleep: fakeSleep().sleep });
      expect(result.outcome, String(status)).toBe(outcome);
      expect(result.attempts).toHaveLength(1);
    }
  });

  it("a Retry-After longer than maxWaitMs ends the retries and is reported", async () => {
    const { request } = scripted([{ status: 429, headers: { "Retry-After": "120" } }]);
    const { waits, sleep } = fakeSleep();
    const result = await sendWithRetry(sender, request, { sleep, maxWaitMs: 2000 });
    expect(result).toMatchObject({ outcome: "provider_error", status: 429, retryAfterMs: 120_000 });
    expect(waits).toEqual([]);
  });

  it("timeouts are retried, then reported as network_error", async () => {
    const { request } = scripted([{ status: 201, hang: true }, { status: 201, hang: true }, { status: 201, hang: true }]);
    const { waits, sleep } = fakeSleep();
    const result = await sendWithRetry(sender, request, { sleep });
    expect(result.outcome).toBe("network_error");
    expect(result.attempts.map((a) => a.error)).toEqual(["timeout", "timeout", "timeout"]);
    expect(waits).toHaveLength(2);
  });

  it("stops when the total budget would be exceeded", async () => {
    const { request } = scripted([{ status: 503, headers: { "Retry-After": "2" } }, { status: 503, headers: { "Retry-After": "2" } }]);
    const { waits, sleep } = fakeSleep();
    const result = await sendWithRetry(sender, request, { sleep, maxAttempts: 5, maxTotalMs: 3000 });
    expect(result.outcome).toBe("provider_error");
    expect(result.attempts).toHaveLength(2);
    expect(waits).toEqual([2000]);
  });

  it("does not retry an endpoint refused by the SSRF guard", async () => {
    const strict = createPushSender();
    const { request } = scripted([]);
    const result = await sendWithRetry(strict, request, { sleep: fakeSleep().sleep });
    strict.close();
    expect(result).toMatchObject({ outcome: "blocked", error: "insecure_scheme" });
    expect(result.attempts).toHaveLength(1);
  });
});

describe("policy helpers", () => {
  const NOW = Date.UTC(2026, 0, 1, 0, 0, 0);

  it("parses Retry-After as seconds or an HTTP-date", () => {
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 7 ", NOW)).toBe(7000);
    expect(parseRetryAfter(new Date(NOW + 3000).toUTCString(), NOW)).toBe(3000);
    expect(parseRetryAfter(new Date(NOW - 3000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter("-1", NOW)).toBeNull();
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
  });

  it("classifies statuses", () => {
    const res = (status: number | null, extra: Partial<SendResult> = {}): SendResult => ({
      status,
      headers: {},
      body: "",
      bodyTruncated: false,
      durationMs: 1,
      ...extra,
    });
    expect(classifySendResult(res(201))).toEqual({ final: true, outcome: "delivered" });
    expect(classifySendResult(res(202))).toEqual({ final: true, outcome: "delivered" });
    expect(classifySendResult(res(410))).toEqual({ final: true, outcome: "gone" });
    expect(classifySendResult(res(301))).toEqual({ final: true, outcome: "provider_error" });
    expect(classifySendResult(res(502))).toEqual({ final: false, retryAfterMs: null });
    expect(classifySendResult(res(429, { headers: { "retry-after": "3" } }))).toEqual({ final: false, retryAfterMs: 3000 });
    expect(classifySendResult(res(null, { error: "network" }))).toEqual({ final: false, retryAfterMs: null });
    expect(classifySendResult(res(null, { error: "forbidden_address" }))).toEqual({ final: true, outcome: "blocked" });
  });
});

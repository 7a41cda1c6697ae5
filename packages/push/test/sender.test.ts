import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPushRequest } from "../src/request";
import { createPushSender } from "../src/sender";
import { startPushServicePeer, type PushServicePeer } from "../src/testing";
import { VapidSigner } from "../src/vapid";
import { generateVapidKeys } from "../src/vapid-keys";

let peer: PushServicePeer;
const vapid = new VapidSigner({ ...generateVapidKeys(), subject: "mailto:ops@reachbell.example" });

beforeAll(async () => {
  peer = await startPushServicePeer();
});
afterAll(() => peer.close());

function pushFor(id?: string) {
  const sub = peer.createSubscriber(id);
  return { sub, request: buildPushRequest({ subscription: sub, payload: "hello", vapid }) };
}

describe("createPushSender", () => {
  it("delivers and reports status, headers, body and duration", async () => {
    const sender = createPushSender({ allowInsecure: true, userAgent: "ReachBell/test" });
    const { sub, request } = pushFor();
    peer.script(sub.id, [{ status: 201, headers: { Location: `${peer.origin}/msg/1` }, body: "" }]);
    const res = await sender.send(request);
    sender.close();
    expect(res.status).toBe(201);
    expect(res.error).toBeUndefined();
    expect(res.headers.location).toBe(`${peer.origin}/msg/1`);
    expect(res.durationMs).toBeGreaterThan(0);
    expect(peer.received.find((r) => r.id === sub.id)?.headers["user-agent"]).toBe("ReachBell/test");
  });

  it("reuses keep-alive connections for sequential sends to the same origin", async () => {
    const sender = createPushSender({ allowInsecure: true });
    const before = peer.connectionCount;
    for (let i = 0; i < 10; i++) expect((await sender.send(pushFor().request)).status).toBe(201);
    sender.close();
    // undici hands a finished connection back to its pool one event-loop turn after the
    // response (it checks the server did not close it), so a caller that sends again at once
    // gets a second pooled connection; after that the two are reused, never one per send.
    expect(peer.connectionCount - before).toBeLessThanOrEqual(2);
  });

  it("handles a concurrent fan-out within maxSocketsPerOrigin connections", async () => {
    const sender = createPushSender({ allowInsecure: true, maxSocketsPerOrigin: 8 });
    const before = peer.connectionCount;
    const results = await Promise.all(Array.from({ length: 100 }, () => sender.send(pushFor().request)));
    sender.close();
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(peer.connectionCount - before).toBeLessThanOrEqual(8);
  });

  it("does not count time queued for a pooled socket against the timeout", async () => {
    const sender = createPushSender({ allowInsecure: true, maxSocketsPerOrigin: 1, timeoutMs: 300 });
    const stuck = pushFor();
    peer.script(stuck.sub.id, [{ status: 201, hang: true }]);
    const first = sender.send(stuck.request);
    const second = sender.send(pushFor().request); // waits for the only socket
    const [a, b] = await Promise.all([first, second]);
    sender.close();
    expect(a.error).toBe("timeout");
    expect(b.status).toBe(201);
    expect(b.durationMs).toBeGreaterThanOrEqual(295); // it waited out the stuck one
  });

  it("times out against a peer that never answers", async () => {
    const sender = createPushSender({ allowInsecure: true, timeoutMs: 300 });
    const { sub, request } = pushFor();
    peer.script(sub.id, [{ status: 201, hang: true }]);
    const res = await sender.send(request);
    sender.close();
    expect(res).toMatchObject({ status: null, error: "timeout" });
    expect(res.durationMs).toBeGreaterThanOrEqual(295);
    expect(res.durationMs).toBeLessThan(2000);
  });

  it("times out when the connection is accepted but nothing is ever read or written", async () => {
    // A raw TCP listener that accepts and stays silent: covers the "stuck before headers" case.
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    const sender = createPushSender({ allowInsecure: true, timeoutMs: 200 });
    const res = await sender.send({ ...pushFor().request, url: `http://127.0.0.1:${port}/push/x` });
    sender.close();
    silent.closeAllConnections();
    silent.close();
    expect(res.error).toBe("timeout");
  });

  it("does not follow redirects: a 301 is the result", async () => {
    const sender = createPushSender({ allowInsecure: true });
    const { sub, request } = pushFor();
    const target = peer.createSubscriber();
    peer.script(sub.id, [{ status: 301, headers: { Location: target.endpoint } }]);
    const before = peer.requestCount;
    const res = await sender.send(request);
    await new Promise((r) => setTimeout(r, 50)); // room for a stray follow-up request to show up
    sender.close();
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(target.endpoint);
    expect(peer.requestCount - before).toBe(1);
    expect(peer.received.some((r) => r.id === target.id)).toBe(false);
  });

  it("caps the response body it reads at maxResponseBytes", async () => {
    const sender = createPushSender({ allowInsecure: true, maxResponseBytes: 1024 });
    const { sub, request } = pushFor();
    peer.script(sub.id, [{ status: 400, body: "e".repeat(100_000) }]);
    const res = await sender.send(request);
    sender.close();
    expect(res.status).toBe(400);
    expect(res.body.length).toBe(1024);
    expect(res.bodyTruncated).toBe(true);
  });

  it("keeps the default 64 KiB cap", async () => {
    const sender = createPushSender({ allowInsecure: true });
    const { sub, request } = pushFor();
    peer.script(sub.id, [{ status: 500, body: "e".repeat(200_000) }]);
    const res = await sender.send(request);
    sender.close();
    expect(res.body.length).toBe(64 * 1024);
  });

  it("reports a refused connection as a network error instead of throwing", async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r)); // nothing listens there now
    const sender = createPushSender({ allowInsecure: true });
    const res = await sender.send({ ...pushFor().request, url: `http://127.0.0.1:${port}/push/x` });
    sender.close();
    expect(res).toMatchObject({ status: null, error: "network" });
    expect(res.errorMessage).toMatch(/ECONNREFUSED/);
  });

  it("resolves with error 'closed' after close()", async () => {
    const sender = createPushSender({ allowInsecure: true });
    sender.close();
    expect(await sender.send(pushFor().request)).toMatchObject({ status: null, error: "closed" });
  });
});

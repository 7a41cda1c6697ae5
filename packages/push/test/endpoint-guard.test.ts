import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkEndpoint, checkEndpointUrl, classifyAddress, isForbiddenAddress } from "../src/endpoint-guard";
import { buildPushRequest } from "../src/request";
import { createPushSender } from "../src/sender";
import { startPushServicePeer, type PushServicePeer } from "../src/testing";
import { VapidSigner } from "../src/vapid";
import { generateVapidKeys } from "../src/vapid-keys";

const FORBIDDEN_HOSTS: Array<[string, string]> = [
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["169.254.169.254", "link_local"], // cloud metadata
  ["169.254.0.1", "link_local"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["100.64.0.1", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "reserved"],
  ["192.0.2.10", "documentation"],
  ["198.18.0.1", "reserved"],
  ["[::1]", "loopback"],
  ["[::]", "unspecified"],
  ["[fc00::1]", "private"],
  ["[fd12:3456::1]", "private"],
  ["[fe80::1]", "link_local"],
  ["[febf::1]", "link_local"],
  ["[ff02::1]", "multicast"],
  ["[::ffff:127.0.0.1]", "loopback"], // IPv4-mapped
  ["[::ffff:169.254.169.254]", "link_local"],
  ["[::ffff:10.0.0.1]", "private"],
  ["[::ffff:0:0]", "unspecified"],
  ["[64:ff9b::a9fe:a9fe]", "link_local"], // NAT64 of 169.254.169.254
  ["[2002:7f00:1::1]", "loopback"], // 6to4 of 127.0.0.1
  ["[2001:db8::1]", "documentation"],
  ["[2001::1]", "reserved"], // Teredo
  ["[::127.0.0.1]", "reserved"], // deprecated IPv4-compatible
];

describe("classifyAddress", () => {
  it.each(FORBIDDEN_HOSTS)("%s is %s", (host, cls) => {
    expect(classifyAddress(host)).toBe(cls);
    expect(isForbiddenAddress(host)).toBe(true);
  });

  it.each([
    "8.8.8.8",
    "142.250.74.106",
    "172.15.255.255", // just below 172.16/12
    "172.32.0.1", // just above
    "100.63.255.255", // just below CGNAT
    "100.128.0.1", // just above
    "169.253.255.255",
    "223.255.255.255",
    "[2606:4700:4700::1111]",
    "[2a00:1450:4001:82b::200a]",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]", // NAT64 of 8.8.8.8
  ])("%s is public", (host) => {
    expect(classifyAddress(host)).toBe("public");
  });

  it("returns null for hostnames", () => {
    expect(classifyAddress("fcm.googleapis.com")).toBeNull();
    expect(isForbiddenAddress("localhost")).toBe(false); // names are checked after resolution
  });
});

describe("checkEndpointUrl", () => {
  it("allows https only", () => {
    expect(checkEndpointUrl("https://fcm.googleapis.com/fcm/send/x").ok).toBe(true);
    expect(checkEndpointUrl("http://fcm.googleapis.com/fcm/send/x")).toMatchObject({ ok: false, reason: "insecure_scheme" });
    expect(checkEndpointUrl("ftp://fcm.googleapis.com/x")).toMatchObject({ ok: false, reason: "invalid_url" });
    expect(checkEndpointUrl("file:///etc/passwd")).toMatchObject({ ok: false, reason: "invalid_url" });
    expect(checkEndpointUrl("not a url")).toMatchObject({ ok: false, reason: "invalid_url" });
    expect(checkEndpointUrl("https://user:pw@push.example/x")).toMatchObject({ ok: false, reason: "invalid_url" });
  });

  it.each(FORBIDDEN_HOSTS)("refuses https://%s/", (host) => {
    expect(checkEndpointUrl(`https://${host}/push/1`)).toMatchObject({ ok: false, reason: "forbidden_address" });
  });

  it("refuses odd IPv4 spellings of loopback (the URL parser normalises them first)", () => {
    for (const host of ["0x7f.1", "2130706433", "127.1", "0177.0.0.1", "0x7f000001"]) {
      expect(checkEndpointUrl(`https://${host}/`)).toMatchObject({ ok: false, reason: "forbidden_address" });
    }
  });

  it("with allowInsecure, accepts http: and private addresses (local development)", () => {
    expect(checkEndpointUrl("http://127.0.0.1:8080/push/1", { allowInsecure: true }).ok).toBe(true);
    expect(checkEndpointUrl("https://10.0.0.1/push/1", { allowInsecure: true }).ok).toBe(true);
    expect(checkEndpointUrl("ftp://127.0.0.1/", { allowInsecure: true })).toMatchObject({ reason: "invalid_url" });
  });
});

describe("checkEndpoint (resolving)", () => {
  it("refuses localhost after resolving it", async () => {
    expect(await checkEndpoint("https://localhost/push/1")).toMatchObject({ ok: false, reason: "forbidden_address" });
  });

  it("refuses a name whose DNS answer includes a private address", async () => {
    const resolve = fakeDns({ "push.example": ["203.0.114.1", "10.0.0.5"] });
    expect(await checkEndpoint("https://push.example/x", { resolve })).toMatchObject({ reason: "forbidden_address" });
  });

  it("accepts a name resolving to public addresses only", async () => {
    const resolve = fakeDns({ "push.example": ["203.0.114.1", "2606:4700::1"] });
    expect((await checkEndpoint("https://push.example/x", { resolve })).ok).toBe(true);
  });

  it("reports dns_failure for a name that does not resolve", async () => {
    const resolve = fakeDns({});
    expect(await checkEndpoint("https://nowhere.invalid/x", { resolve })).toMatchObject({ reason: "dns_failure" });
  });
});

describe("the sender enforces the guard at connect time", () => {
  let peer: PushServicePeer;
  const vapid = new VapidSigner({ ...generateVapidKeys(), subject: "mailto:ops@reachbell.example" });
  beforeAll(async () => {
    peer = await startPushServicePeer();
  });
  afterAll(() => peer.close());

  function requestTo(url: string) {
    const sub = peer.createSubscriber();
    return buildPushRequest({ subscription: { ...sub, endpoint: url }, payload: "x", vapid });
  }

  it("refuses http: endpoints without allowInsecure; nothing reaches the peer", async () => {
    const sender = createPushSender();
    const before = peer.requestCount;
    const res = await sender.send(requestTo(peer.endpointFor("a")));
    sender.close();
    expect(res).toMatchObject({ status: null, error: "insecure_scheme" });
    expect(peer.requestCount).toBe(before);
  });

  it("refuses https://localhost and IP-literal private hosts", async () => {
    const sender = createPushSender();
    const port = new URL(peer.origin).port;
    for (const host of ["localhost", "127.0.0.1", "[::1]", "169.254.169.254", "[::ffff:7f00:1]"]) {
      const res = await sender.send(requestTo(`https://${host}:${port}/push/a`));
      expect(res, host).toMatchObject({ status: null, error: "forbidden_address" });
    }
    sender.close();
  });

  it("vets the same resolution it connects to (DNS rebinding)", async () => {
    // push.test does not exist in real DNS: whatever the connection uses came from our resolver.
    const resolve = fakeDns({ "push.test": ["127.0.0.1"] });
    const port = new URL(peer.origin).port;

    const guarded = createPushSender({ resolve });
    const refused = await guarded.send(requestTo(`https://push.test:${port}/push/a`));
    guarded.close();
    expect(refused).toMatchObject({ status: null, error: "forbidden_address" });

    // Same resolver with the guard relaxed: the connection goes to the address it returned.
    const relaxed = createPushSender({ resolve, allowInsecure: true });
    const sub = peer.createSubscriber();
    const ok = await relaxed.send(
      buildPushRequest({ subscription: { ...sub, endpoint: `http://push.test:${port}/push/${sub.id}` }, payload: "x", vapid }),
    );
    relaxed.close();
    // 401: the peer received it, and the token's aud (http://push.test:port) is not its origin.
    expect(ok.status).toBe(401);
    expect(peer.rejected.at(-1)).toEqual({ id: sub.id, status: 401, reason: "vapid_audience_mismatch" });
  });
});

/** A resolver with fixed answers, standing in for a hostile or rebinding DNS server. */
function fakeDns(table: Record<string, string[]>) {
  return (
    hostname: string,
    _options: unknown,
    callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
  ) => {
    const answers = table[hostname];
    setImmediate(() => {
      if (!answers) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = "ENOTFOUND";
        return callback(err, []);
      }
      callback(
        null,
        answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
      );
    });
  };
}

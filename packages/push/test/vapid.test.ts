import { createPublicKey, verify } from "node:crypto";
import webpush from "web-push";
import { describe, expect, it } from "vitest";
import { decodeBase64Url, toBase64Url } from "../src/base64url";
import { generateVapidKeys } from "../src/vapid-keys";
import { audienceOf, parseVapidAuthorization, VapidSigner, verifyVapidJwt } from "../src/vapid";

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function makeSigner(now: () => number, extra: Partial<ConstructorParameters<typeof VapidSigner>[0]> = {}) {
  const keys = generateVapidKeys();
  return { keys, signer: new VapidSigner({ ...keys, subject: "mailto:ops@reachbell.example", now, ...extra }) };
}

function tokenOf(header: string): string {
  const parsed = parseVapidAuthorization(header);
  if (!parsed) throw new Error(`not a vapid header: ${header}`);
  return parsed.token;
}

describe("VAPID JWT", () => {
  it("is an ES256 JWT with aud/exp/sub that verifies against k= with plain node:crypto", () => {
    const { keys, signer } = makeSigner(() => T0);
    const header = signer.authorizationFor("https://fcm.googleapis.com/fcm/send/abc:def");
    expect(header).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
    const { token, publicKey } = parseVapidAuthorization(header) ?? { token: "", publicKey: "" };
    expect(publicKey).toBe(keys.publicKey);

    const [h = "", c = "", s = ""] = token.split(".");
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ typ: "JWT", alg: "ES256" });
    expect(JSON.parse(Buffer.from(c, "base64url").toString())).toEqual({
      aud: "https://fcm.googleapis.com",
      exp: T0 / 1000 + 12 * 3600,
      sub: "mailto:ops@reachbell.example",
    });
    // Independent check, not using our verifier: raw r||s signature over "header.claims".
    const point = decodeBase64Url(publicKey);
    const key = createPublicKey({
      key: { kty: "EC", crv: "P-256", x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) },
      format: "jwk",
    });
    const sig = Buffer.from(s, "base64url");
    expect(sig.length).toBe(64);
    expect(verify("sha256", Buffer.from(`${h}.${c}`), { key, dsaEncoding: "ieee-p1363" }, sig)).toBe(true);

    expect(verifyVapidJwt(token, publicKey, { audience: "https://fcm.googleapis.com", now: T0 })).toEqual({
      ok: true,
      claims: { aud: "https://fcm.googleapis.com", exp: T0 / 1000 + 43200, sub: "mailto:ops@reachbell.example" },
    });
  });

  it("our verifier accepts web-push's tokens (same wire format)", () => {
    const keys = generateVapidKeys();
    const headers = webpush.getVapidHeaders(
      "https://updates.push.services.mozilla.com",
      "https://reachbell.example/contact",
      keys.publicKey,
      keys.privateKey,
      "aes128gcm",
    );
    const parsed = parseVapidAuthorization(headers.Authorization);
    expect(parsed?.publicKey).toBe(keys.publicKey);
    const result = verifyVapidJwt(parsed?.token ?? "", keys.publicKey, { audience: "https://updates.push.services.mozilla.com" });
    expect(result.ok).toBe(true);
  });

  it("verification fails for another key, a tampered token, a wrong audience and bad expiry", () => {
    const { keys, signer } = makeSigner(() => T0);
    const token = tokenOf(signer.authorizationFor("https://push.example/x"));
    const other = generateVapidKeys().publicKey;
    expect(verifyVapidJwt(token, other, { now: T0 })).toEqual({ ok: false, reason: "bad_signature" });
    const [h, c, s] = token.split(".");
    const forged = `${h}.${toBase64Url(Buffer.from(JSON.stringify({ aud: "https://push.example", exp: T0 / 1000 + 60 })))}.${s}`;
    expect(verifyVapidJwt(forged, keys.publicKey, { now: T0 })).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyVapidJwt(`${h}.${c}`, keys.publicKey, { now: T0 })).toEqual({ ok: false, reason: "malformed_token" });
    expect(verifyVapidJwt(token, keys.publicKey, { audience: "https://other.example", now: T0 })).toEqual({
      ok: false,
      reason: "audience_mismatch",
    });
    expect(verifyVapidJwt(token, keys.publicKey, { now: T0 + 13 * HOUR_MS })).toEqual({ ok: false, reason: "expired" });
    expect(verifyVapidJwt(token, keys.publicKey, { now: T0 - 13 * HOUR_MS })).toEqual({ ok: false, reason: "expiry_too_far" });
  });

  it("audience is the endpoint origin, including a non-default port", () => {
    expect(audienceOf("https://fcm.googleapis.com/fcm/send/x?y=1")).toBe("https://fcm.googleapis.com");
    expect(audienceOf("http://127.0.0.1:8080/push/1")).toBe("http://127.0.0.1:8080");
    expect(audienceOf("https://web.push.apple.com:443/abc")).toBe("https://web.push.apple.com");
  });
});

describe("VapidSigner", () => {
  it("refuses bad subjects, mismatched keys and lifetimes over 24 h", () => {
    const keys = generateVapidKeys();
    expect(() => new VapidSigner({ ...keys, subject: "ops@reachbell.example" })).toThrow(/subject/);
    expect(() => new VapidSigner({ ...keys, subject: "mailto: ops@reachbell.example" })).toThrow(/subject/);
    expect(() => new VapidSigner({ ...keys, subject: "http://reachbell.example" })).toThrow(/subject/);
    expect(() => new VapidSigner({ ...keys, subject: "https://reachbell.example" })).not.toThrow();
    expect(
      () => new VapidSigner({ publicKey: generateVapidKeys().publicKey, privateKey: keys.privateKey, subject: "mailto:a@b.c" }),
    ).toThrow(/key/);
    expect(() => new VapidSigner({ ...keys, subject: "mailto:a@b.c", tokenTtlSeconds: 24 * 3600 + 1 })).toThrow(RangeError);
  });

  it("reuses the token for the same origin and signs a new one for another origin", () => {
    const { signer } = makeSigner(() => T0);
    const a1 = signer.authorizationFor("https://fcm.googleapis.com/fcm/send/one");
    const a2 = signer.authorizationFor("https://fcm.googleapis.com/fcm/send/two");
    const b = signer.authorizationFor("https://updates.push.services.mozilla.com/wpush/v2/x");
    expect(a2).toBe(a1);
    expect(b).not.toBe(a1);
    expect(JSON.parse(Buffer.from(tokenOf(b).split(".")[1] ?? "", "base64url").toString()).aud).toBe(
      "https://updates.push.services.mozilla.com",
    );
    expect(signer.cachedAudiences).toBe(2);
  });

  it("re-signs once the cached token is within 1 h of expiry", () => {
    let now = T0;
    const { signer } = makeSigner(() => now);
    const first = signer.authorizationFor("https://fcm.googleapis.com/x");
    now = T0 + 10 * HOUR_MS + 59 * 60_000; // 1 h 1 min before expiry: still reused
    expect(signer.authorizationFor("https://fcm.googleapis.com/x")).toBe(first);
    now = T0 + 11 * HOUR_MS; // exactly 1 h before expiry: renewed
    const second = signer.authorizationFor("https://fcm.googleapis.com/x");
    expect(second).not.toBe(first);
    const exp = JSON.parse(Buffer.from(tokenOf(second).split(".")[1] ?? "", "base64url").toString()).exp;
    expect(exp).toBe((T0 + 11 * HOUR_MS) / 1000 + 12 * 3600);
  });

  it("bounds the cache, evicting the least recently used origin", () => {
    const { signer } = makeSigner(() => T0, { maxCachedAudiences: 2 });
    const a = signer.authorizationForAudience("https://a.example");
    const b = signer.authorizationForAudience("https://b.example");
    expect(signer.authorizationForAudience("https://a.example")).toBe(a); // a is now most recent
    signer.authorizationForAudience("https://c.example"); // evicts b
    expect(signer.cachedAudiences).toBe(2);
    expect(signer.authorizationForAudience("https://a.example")).toBe(a);
    // b was evicted: asking again signs a fresh token (ECDSA signatures are randomised).
    expect(signer.authorizationForAudience("https://b.example")).not.toBe(b);
    expect(signer.cachedAudiences).toBe(2);
  });
});

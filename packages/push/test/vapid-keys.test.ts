import { createECDH, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url } from "../src/base64url";
import { generateVapidKeys, isValidP256PublicKey, isValidVapidKeyPair, publicKeyFromPrivate } from "../src/vapid-keys";

/** A real point with one bit of Y flipped: almost certainly not on the curve. */
function offCurvePoint(): Buffer {
  const ecdh = createECDH("prime256v1");
  const point = ecdh.generateKeys();
  point[64] = (point[64] ?? 0) ^ 1;
  return point;
}

describe("generateVapidKeys", () => {
  it("returns a 65-byte uncompressed point and a 32-byte scalar that belong together", () => {
    const keys = generateVapidKeys();
    const pub = fromBase64Url(keys.publicKey);
    const priv = fromBase64Url(keys.privateKey);
    expect(pub?.length).toBe(65);
    expect(pub?.[0]).toBe(0x04);
    expect(priv?.length).toBe(32);
    expect(publicKeyFromPrivate(priv as Buffer)?.equals(pub as Buffer)).toBe(true);
    expect(isValidVapidKeyPair(keys)).toBe(true);
    expect(isValidP256PublicKey(keys.publicKey)).toBe(true);
  });

  it("generates a different pair each time", () => {
    expect(generateVapidKeys().privateKey).not.toBe(generateVapidKeys().privateKey);
  });

  it("detects a public key that does not match the private key", () => {
    const a = generateVapidKeys();
    const b = generateVapidKeys();
    expect(isValidVapidKeyPair({ publicKey: a.publicKey, privateKey: b.privateKey })).toBe(false);
  });
});

describe("isValidP256PublicKey", () => {
  it("node's JWK import really rejects off-curve points (the reference the check is compared with)", () => {
    const point = offCurvePoint();
    const jwk = { kty: "EC", crv: "P-256", x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) };
    expect(() => createPublicKey({ key: jwk, format: "jwk" })).toThrow();
  });

  it("agrees with OpenSSL's import on on-curve, off-curve and out-of-range points", () => {
    const opensslAccepts = (point: Buffer) => {
      try {
        createPublicKey({ key: { kty: "EC", crv: "P-256", x: toBase64Url(point.subarray(1, 33)), y: toBase64Url(point.subarray(33)) }, format: "jwk" });
        return true;
      } catch {
        return false;
      }
    };
    const points: Buffer[] = [];
    for (let i = 0; i < 50; i++) points.push(createECDH("prime256v1").generateKeys(), offCurvePoint());
    // x ≥ p (all 0xff), and y replaced by p − y (the other on-curve point with that x) plus p (out of range).
    const p = Buffer.from("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", "hex");
    const good = createECDH("prime256v1").generateKeys();
    points.push(Buffer.concat([Buffer.of(4), Buffer.alloc(32, 0xff), good.subarray(33)]));
    const y = BigInt(`0x${good.toString("hex", 33)}`);
    const pn = BigInt(`0x${p.toString("hex")}`);
    points.push(Buffer.concat([good.subarray(0, 33), Buffer.from((pn - y).toString(16).padStart(64, "0"), "hex")]));
    if (y + pn < 2n ** 256n) points.push(Buffer.concat([good.subarray(0, 33), Buffer.from((y + pn).toString(16).padStart(64, "0"), "hex")]));
    for (const point of points) expect(isValidP256PublicKey(toBase64Url(point)), point.toString("hex")).toBe(opensslAccepts(point));
  });

  it("rejects an off-curve point", () => {
    expect(isValidP256PublicKey(toBase64Url(offCurvePoint()))).toBe(false);
  });

  it("rejects wrong length, wrong prefix, compressed points and non-base64", () => {
    const good = createECDH("prime256v1").generateKeys();
    expect(isValidP256PublicKey(toBase64Url(good.subarray(0, 64)))).toBe(false);
    const wrongPrefix = Buffer.from(good);
    wrongPrefix[0] = 0x05;
    expect(isValidP256PublicKey(toBase64Url(wrongPrefix))).toBe(false);
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    expect(isValidP256PublicKey(toBase64Url(ecdh.getPublicKey(null, "compressed")))).toBe(false);
    expect(isValidP256PublicKey("not base64!")).toBe(false);
    expect(isValidP256PublicKey(toBase64Url(Buffer.alloc(65)))).toBe(false); // all zero, 0x00 prefix
    const zeroPoint = Buffer.alloc(65);
    zeroPoint[0] = 0x04;
    expect(isValidP256PublicKey(toBase64Url(zeroPoint))).toBe(false); // (0,0) is not on P-256
  });

  it("accepts a browser-style subscription key", () => {
    expect(isValidP256PublicKey(toBase64Url(createECDH("prime256v1").generateKeys()))).toBe(true);
  });

  it("refuses private scalars that are zero or not 32 bytes", () => {
    expect(publicKeyFromPrivate(Buffer.alloc(32))).toBeNull();
    expect(publicKeyFromPrivate(Buffer.alloc(31, 1))).toBeNull();
  });
});

import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { InvalidTokenError, PasswordHasher, SecretBox, hashApiKey, hmacKey, looksLikeApiKey, mintApiKey, parseDuration, parseEncryptionKey, signHs256, verifyHs256 } from "../src";

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("HS256 tokens", () => {
  const secret = randomBytes(32);
  const key = hmacKey(secret);

  it("round-trips", async () => {
    const t = await signHs256({ sub: "usr_1", type: "user" }, key, 60);
    expect((await verifyHs256(t, key)).sub).toBe("usr_1");
  });
  it("refuses short secrets", () => {
    expect(() => hmacKey("short")).toThrow(/32 bytes/);
  });
  it("rejects alg none, other algorithms, kid, wrong secret, tampering, expiry, missing exp, future nbf", async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await signHs256({ sub: "u" }, key, 60);
    const [h, p, s] = good.split(".");
    const cases = [
      `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
      `${b64({ alg: "RS256", typ: "JWT" })}.${p}.${s}`,
      await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "HS256", kid: "x" }).setIssuedAt().setExpirationTime("1m").sign(secret),
      await signHs256({ sub: "u" }, hmacKey(randomBytes(32)), 60),
      `${h}.${b64({ sub: "admin", iat: now, exp: now + 60 })}.${s}`,
      await signHs256({ sub: "u" }, key, 60, Date.now() - 3600_000),
      await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt().sign(secret),
      await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h").setNotBefore(now + 600).sign(secret),
      "garbage",
    ];
    for (const t of cases) await expect(verifyHs256(t, key)).rejects.toBeInstanceOf(InvalidTokenError);
  });
  it("refuses an iat in the future beyond the clock tolerance, and key-naming headers (jku, x5u, jwk, x5c; crit in the server suite, jose will not sign it)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: { iat: number; exp: number }, header: Record<string, unknown> = {}) =>
      new SignJWT({ sub: "u", ...claims }).setProtectedHeader({ alg: "HS256", ...header } as { alg: string }).sign(secret);
    expect((await verifyHs256(await sign({ iat: now + 20, exp: now + 600 }), key)).sub).toBe("u"); // skew within tolerance
    for (const t of [await sign({ iat: now + 10 * 365 * 86400, exp: now + 10 * 365 * 86400 + 3600 }), await sign({ iat: now + 120, exp: now + 600 })]) {
      await expect(verifyHs256(t, key, { maxLifetimeSeconds: 24 * 3600 })).rejects.toBeInstanceOf(InvalidTokenError);
      await expect(verifyHs256(t, key)).rejects.toBeInstanceOf(InvalidTokenError);
    }
    for (const h of [{ jku: "https://a.example/jwks" }, { x5u: "https://a.example/c.pem" }, { jwk: { kty: "oct", k: "AA" } }, { x5c: ["MII"] }]) {
      await expect(verifyHs256(await sign({ iat: now, exp: now + 600 }, h), key)).rejects.toBeInstanceOf(InvalidTokenError);
    }
  });
  it("enforces a maximum lifetime when asked", async () => {
    const t = await signHs256({ sub: "u" }, key, 48 * 3600);
    await expect(verifyHs256(t, key, { maxLifetimeSeconds: 24 * 3600 })).rejects.toBeInstanceOf(InvalidTokenError);
  });
});

describe("durations, keys and secrets", () => {
  it("parses durations", () => {
    expect(parseDuration("7d")).toBe(604800);
    expect(parseDuration("90")).toBe(90);
    expect(() => parseDuration("soon")).toThrow();
  });
  it("parses ENCRYPTION_KEY as hex or base64 of 32 bytes only", () => {
    const k = randomBytes(32);
    expect(parseEncryptionKey(k.toString("hex")).equals(k)).toBe(true);
    expect(parseEncryptionKey(k.toString("base64")).equals(k)).toBe(true);
    expect(() => parseEncryptionKey("abcd")).toThrow(/32 bytes/);
  });
  it("seals and opens secrets; tampering and a wrong key fail", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("private", "aad");
    expect(sealed).not.toContain("private");
    expect(box.open(sealed, "aad")).toBe("private");
    expect(() => box.open(sealed, "other")).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, "aad")).toThrow();
  });
  it("mints API keys with the environment prefix and ≥128 bits, hashed with SHA-256", () => {
    const live = mintApiKey("live");
    const test = mintApiKey("sandbox");
    expect(live).toMatch(/^rb_live_[A-Za-z0-9_-]{32}$/);
    expect(test).toMatch(/^rb_test_/);
    expect(looksLikeApiKey(live)).toBe(true);
    expect(hashApiKey(live)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(live)).not.toBe(hashApiKey(mintApiKey("live")));
  });
});

describe("passwords", () => {
  it("hashes with argon2id and verifies", async () => {
    const h = new PasswordHasher();
    const hash = await h.hash("correct horse");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await h.verify(hash, "correct horse")).toBe(true);
    expect(await h.verify(hash, "wrong")).toBe(false);
    expect(await h.verifyAgainstDummy("x")).toBe(false);
  });
});

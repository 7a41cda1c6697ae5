import { createECDH, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import webpush from "web-push";
import { describe, expect, it } from "vitest";
import { decodeBase64Url, toBase64Url } from "../src/base64url";
import {
  decryptAes128gcm,
  encryptAes128gcm,
  encryptedBodyBytes,
  fitsPushLimit,
  MAX_ENCRYPTED_BYTES,
  MAX_PLAINTEXT_BYTES,
} from "../src/encrypt";
import { DecryptError, PushInputError } from "../src/errors";

// RFC 8291 Appendix A.
const RFC = {
  plaintext: "When I grow up, I want to be a watermelon",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

function browserSubscriber() {
  const ecdh = createECDH("prime256v1");
  const publicKey = ecdh.generateKeys();
  return { publicKey, privateKey: ecdh.getPrivateKey(), auth: randomBytes(16) };
}

// http_ece is Mozilla's reference implementation (a dependency of web-push).
const requireFromWebPush = createRequire(createRequire(import.meta.url).resolve("web-push"));
const ece = requireFromWebPush("http_ece") as {
  decrypt(body: Buffer, params: { version: string; privateKey: unknown; authSecret: string }): Buffer;
};

describe("encryptAes128gcm", () => {
  it("reproduces the RFC 8291 Appendix A body byte for byte", () => {
    const body = encryptAes128gcm(decodeBase64Url(RFC.uaPublic), decodeBase64Url(RFC.auth), Buffer.from(RFC.plaintext), {
      salt: decodeBase64Url(RFC.salt),
      senderPrivateKey: decodeBase64Url(RFC.asPrivate),
    });
    expect(toBase64Url(body)).toBe(RFC.body);
  });

  it("decrypts the RFC 8291 Appendix A body", () => {
    const plain = decryptAes128gcm(decodeBase64Url(RFC.body), {
      privateKey: decodeBase64Url(RFC.uaPrivate),
      publicKey: decodeBase64Url(RFC.uaPublic),
      auth: decodeBase64Url(RFC.auth),
    });
    expect(plain.toString()).toBe(RFC.plaintext);
  });

  it("round-trips with a fresh ephemeral key and salt each message", () => {
    const ua = browserSubscriber();
    const msg = Buffer.from(JSON.stringify({ title: "hi", body: "ünïcødé ✓" }));
    const a = encryptAes128gcm(ua.publicKey, ua.auth, msg);
    const b = encryptAes128gcm(ua.publicKey, ua.auth, msg);
    expect(a.length).toBe(encryptedBodyBytes(msg.length));
    expect(a.subarray(0, 16).equals(b.subarray(0, 16))).toBe(false); // salt
    expect(a.subarray(21, 86).equals(b.subarray(21, 86))).toBe(false); // sender key
    expect(a.readUInt32BE(16)).toBe(4096);
    expect(a[20]).toBe(65);
    expect(decryptAes128gcm(a, ua)).toEqual(msg);
    expect(decryptAes128gcm(b, ua)).toEqual(msg);
  });

  it("encrypts an empty payload", () => {
    const ua = browserSubscriber();
    expect(decryptAes128gcm(encryptAes128gcm(ua.publicKey, ua.auth, Buffer.alloc(0)), ua).length).toBe(0);
  });

  it("is decrypted by Mozilla's http_ece reference implementation", () => {
    const ua = browserSubscriber();
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(ua.privateKey);
    const body = encryptAes128gcm(ua.publicKey, ua.auth, Buffer.from("interop ✓"));
    const plain = ece.decrypt(body, { version: "aes128gcm", privateKey: ecdh, authSecret: toBase64Url(ua.auth) });
    expect(plain.toString()).toBe("interop ✓");
  });

  it("decrypts what the web-push package encrypts", () => {
    const ua = browserSubscriber();
    const { cipherText } = webpush.encrypt(toBase64Url(ua.publicKey), toBase64Url(ua.auth), "from web-push", "aes128gcm");
    expect(decryptAes128gcm(cipherText, ua).toString()).toBe("from web-push");
  });

  it("rejects a tampered body, the wrong auth secret and a truncated body", () => {
    const ua = browserSubscriber();
    const body = encryptAes128gcm(ua.publicKey, ua.auth, Buffer.from("secret"));
    const tampered = Buffer.from(body);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof DecryptError ? err.code : "other";
      }
      return "none";
    };
    expect(code(() => decryptAes128gcm(tampered, ua))).toBe("auth_failed");
    expect(code(() => decryptAes128gcm(body, { ...ua, auth: randomBytes(16) }))).toBe("auth_failed");
    expect(code(() => decryptAes128gcm(body.subarray(0, 50), ua))).toBe("malformed_header");
  });
});

describe("subscriber key validation", () => {
  it("rejects an off-curve p256dh", () => {
    const ua = browserSubscriber();
    const bad = Buffer.from(ua.publicKey);
    bad[64] = (bad[64] ?? 0) ^ 1;
    expect(() => encryptAes128gcm(bad, ua.auth, Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "invalid_p256dh" }),
    );
  });

  it("rejects a short p256dh and an auth secret that is not 16 bytes", () => {
    const ua = browserSubscriber();
    expect(() => encryptAes128gcm(ua.publicKey.subarray(1), ua.auth, Buffer.from("x"))).toThrow(PushInputError);
    expect(() => encryptAes128gcm(ua.publicKey, randomBytes(12), Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "invalid_auth" }),
    );
  });
});

describe("payload size limit", () => {
  it("is 3993 plaintext bytes: 4096 minus the 86-byte header, 16-byte tag and delimiter", () => {
    expect(MAX_ENCRYPTED_BYTES).toBe(4096);
    expect(MAX_PLAINTEXT_BYTES).toBe(3993);
    expect(fitsPushLimit(3993)).toBe(true);
    expect(fitsPushLimit(3994)).toBe(false);
    expect(fitsPushLimit(0)).toBe(true);
    expect(fitsPushLimit(-1)).toBe(false);
  });

  it("a maximal payload encrypts to exactly 4096 bytes", () => {
    const ua = browserSubscriber();
    const body = encryptAes128gcm(ua.publicKey, ua.auth, randomBytes(MAX_PLAINTEXT_BYTES));
    expect(body.length).toBe(4096);
    expect(decryptAes128gcm(body, ua).length).toBe(MAX_PLAINTEXT_BYTES);
  });

  it("one byte more is refused with payload_too_large naming the limit", () => {
    const ua = browserSubscriber();
    let caught: unknown;
    try {
      encryptAes128gcm(ua.publicKey, ua.auth, Buffer.alloc(MAX_PLAINTEXT_BYTES + 1));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PushInputError);
    expect(caught).toMatchObject({ code: "payload_too_large", limit: 3993 });
  });
});

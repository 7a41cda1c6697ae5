// RFC 8291 message encryption using the RFC 8188 "aes128gcm" content coding, one record.
//
// Body layout: salt(16) | rs(4, uint32 BE) | idlen(1) = 65 | keyid = sender ephemeral
// public key (65) | AES-128-GCM(plaintext || 0x02) | tag(16).
//
// HKDF is done with createHmac rather than hkdfSync: every expand here needs a single
// block (≤ 32 bytes), so HKDF-Expand is one HMAC over info || 0x01, and the hand-rolled
// version measured ~3.5x faster than two hkdfSync calls (86k vs 25k derivations/s).
import { createCipheriv, createDecipheriv, createECDH, createHmac, randomBytes } from "node:crypto";
import { DecryptError, PushInputError } from "./errors";
import { P256_POINT_BYTES } from "./vapid-keys";

/** Record size written in the header. One record only, so it just needs to be ≥ the record. */
export const RECORD_SIZE = 4096;
const SALT_BYTES = 16;
const AUTH_SECRET_BYTES = 16;
const TAG_BYTES = 16;
const DELIMITER_BYTES = 1;
/** salt(16) + rs(4) + idlen(1) + keyid(65) */
export const HEADER_BYTES = SALT_BYTES + 4 + 1 + P256_POINT_BYTES;

/**
 * Push services must accept encrypted bodies of up to 4096 bytes (RFC 8291 §4; FCM, Mozilla
 * and Apple reject larger ones with 413). That 4096 is the whole body, header included.
 */
export const MAX_ENCRYPTED_BYTES = 4096;

/** 4096 − 86 (header) − 16 (GCM tag) − 1 (padding delimiter) = 3993 bytes of plaintext. */
export const MAX_PLAINTEXT_BYTES = MAX_ENCRYPTED_BYTES - HEADER_BYTES - TAG_BYTES - DELIMITER_BYTES;

/** Size of the encrypted body for a plaintext of this many bytes (no extra padding). */
export function encryptedBodyBytes(plaintextBytes: number): number {
  return HEADER_BYTES + plaintextBytes + DELIMITER_BYTES + TAG_BYTES;
}

/** Whether a plaintext of this many bytes can be sent; the API answers 422 when not. */
export function fitsPushLimit(plaintextBytes: number): boolean {
  return Number.isInteger(plaintextBytes) && plaintextBytes >= 0 && plaintextBytes <= MAX_PLAINTEXT_BYTES;
}

const KEY_INFO_PREFIX = Buffer.from("WebPush: info\0", "latin1");
const CEK_INFO = Buffer.from("Content-Encoding: aes128gcm\0\x01", "latin1");
const NONCE_INFO = Buffer.from("Content-Encoding: nonce\0\x01", "latin1");
const ONE = Buffer.of(0x01);
const LAST_RECORD_DELIMITER = 0x02;
const recordScratch = Buffer.alloc(MAX_PLAINTEXT_BYTES + DELIMITER_BYTES);

const ephemeral = createECDH("prime256v1");

// Salts come from a pooled CSPRNG buffer: one randomFillSync per 256 messages instead of
// one per message. A salt only has to be unique per key, and each comes from fresh bytes.
const SALT_POOL_BYTES = SALT_BYTES * 256;
let saltPool = Buffer.alloc(0);
let saltOffset = 0;
function nextSalt(): Buffer {
  if (saltOffset + SALT_BYTES > saltPool.length) {
    saltPool = randomBytes(SALT_POOL_BYTES);
    saltOffset = 0;
  }
  const salt = saltPool.subarray(saltOffset, saltOffset + SALT_BYTES);
  saltOffset += SALT_BYTES;
  return salt;
}

function hmac(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac("sha256", key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** RFC 8291 §3.3–3.4 + RFC 8188 §2.2–2.3: CEK and nonce for the single record. */
function deriveKeys(
  ecdhSecret: Uint8Array,
  authSecret: Uint8Array,
  uaPublic: Uint8Array,
  asPublic: Uint8Array,
  salt: Uint8Array,
): { cek: Buffer; nonce: Buffer } {
  const prkKey = hmac(authSecret, ecdhSecret);
  const ikm = hmac(prkKey, KEY_INFO_PREFIX, uaPublic, asPublic, ONE);
  const prk = hmac(salt, ikm);
  return { cek: hmac(prk, CEK_INFO).subarray(0, 16), nonce: hmac(prk, NONCE_INFO).subarray(0, 12) };
}

export interface EncryptOptions {
  /** Fixed salt; only for reproducing test vectors. Default: 16 random bytes. */
  salt?: Uint8Array;
  /** Fixed sender private key; only for test vectors. Default: a fresh key per message. */
  senderPrivateKey?: Uint8Array;
}

/**
 * Encrypts a push message for one subscriber. uaPublic is the subscription's p256dh
 * (65-byte point), authSecret its 16-byte auth. Throws PushInputError for a bad key or an
 * oversized plaintext; an off-curve p256dh is caught by OpenSSL during ECDH.
 */
export function encryptAes128gcm(
  uaPublic: Uint8Array,
  authSecret: Uint8Array,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Buffer {
  if (uaPublic.length !== P256_POINT_BYTES || uaPublic[0] !== 0x04) {
    throw new PushInputError("invalid_p256dh", "p256dh must be a 65-byte uncompressed P-256 point");
  }
  if (authSecret.length !== AUTH_SECRET_BYTES) {
    throw new PushInputError("invalid_auth", "auth must be 16 bytes");
  }
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new PushInputError(
      "payload_too_large",
      `payload is ${plaintext.length} bytes; the limit is ${MAX_PLAINTEXT_BYTES}`,
      MAX_PLAINTEXT_BYTES,
    );
  }
  const salt = options.salt ?? nextSalt();
  if (salt.length !== SALT_BYTES) throw new RangeError("salt must be 16 bytes");

  // A fresh ephemeral key per message (RFC 8291 §3.1): reusing one would let anyone who
  // learns it decrypt every message that shared it. generateKeys() replaces the key pair
  // of the shared ECDH object, which skips re-creating the OpenSSL context (~12% of a
  // build); safe because generate and computeSecret run back to back synchronously.
  let ecdh = ephemeral;
  let asPublic: Buffer;
  if (options.senderPrivateKey) {
    ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(options.senderPrivateKey);
    asPublic = ecdh.getPublicKey();
  } else {
    asPublic = ecdh.generateKeys();
  }
  let ecdhSecret: Buffer;
  try {
    ecdhSecret = ecdh.computeSecret(uaPublic);
  } catch {
    throw new PushInputError("invalid_p256dh", "p256dh is not a point on P-256");
  }

  const { cek, nonce } = deriveKeys(ecdhSecret, authSecret, uaPublic, asPublic, salt);
  // plaintext || 0x02 goes through the cipher in one update: the padded record is staged in
  // a module-level scratch buffer (safe: nothing between here and update() can re-enter).
  const recordBytes = plaintext.length + DELIMITER_BYTES;
  const padded = recordScratch.subarray(0, recordBytes);
  padded.set(plaintext, 0);
  padded[plaintext.length] = LAST_RECORD_DELIMITER;
  const cipher = createCipheriv("aes-128-gcm", cek, nonce);
  const encrypted = cipher.update(padded);
  const rest = cipher.final(); // empty for GCM, but required before getAuthTag()
  padded.fill(0); // don't leave plaintext behind in a long-lived buffer

  const body = Buffer.allocUnsafe(encryptedBodyBytes(plaintext.length));
  body.set(salt, 0);
  let at = SALT_BYTES;
  at = body.writeUInt32BE(RECORD_SIZE, at);
  at = body.writeUInt8(P256_POINT_BYTES, at);
  at += asPublic.copy(body, at);
  at += encrypted.copy(body, at);
  at += rest.copy(body, at);
  cipher.getAuthTag().copy(body, at);
  return body;
}

export interface SubscriberKeys {
  /** Subscriber (user agent) ECDH private key, 32 bytes. */
  privateKey: Uint8Array;
  /** Subscriber public key (the p256dh), 65 bytes. */
  publicKey: Uint8Array;
  /** Subscriber auth secret, 16 bytes. */
  auth: Uint8Array;
}

/**
 * Receiver side of RFC 8291 (what a browser does). Used by the test push-service peer and
 * interop tests. Throws DecryptError with a code describing what was wrong.
 */
export function decryptAes128gcm(body: Uint8Array, keys: SubscriberKeys): Buffer {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.length < SALT_BYTES + 5) throw new DecryptError("malformed_header", "body shorter than the header");
  const salt = buf.subarray(0, SALT_BYTES);
  const rs = buf.readUInt32BE(SALT_BYTES);
  const idlen = buf.readUInt8(SALT_BYTES + 4);
  const headerBytes = SALT_BYTES + 5 + idlen;
  if (rs < 18) throw new DecryptError("malformed_header", `record size ${rs} is below the minimum 18`);
  if (idlen !== P256_POINT_BYTES) throw new DecryptError("malformed_header", `keyid must be 65 bytes, got ${idlen}`);
  if (buf.length < headerBytes + TAG_BYTES + DELIMITER_BYTES) {
    throw new DecryptError("malformed_header", "body too short for one record");
  }
  const asPublic = buf.subarray(SALT_BYTES + 5, headerBytes);
  const record = buf.subarray(headerBytes);
  // RFC 8291 §4: a push message is a single record, so it must fit in rs.
  if (record.length > rs) throw new DecryptError("multiple_records", "push messages must be a single record");

  let ecdhSecret: Buffer;
  try {
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(keys.privateKey);
    ecdhSecret = ecdh.computeSecret(asPublic);
  } catch {
    throw new DecryptError("invalid_key", "sender key in the header is not a P-256 point");
  }
  const { cek, nonce } = deriveKeys(ecdhSecret, keys.auth, keys.publicKey, asPublic, salt);
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptError("auth_failed", "authentication tag mismatch (wrong keys or tampered body)");
  }
  // Padding is delimiter then zeros (RFC 8188 §2); the last record's delimiter is 0x02.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x02) throw new DecryptError("bad_padding", "missing 0x02 last-record delimiter");
  return padded.subarray(0, end);
}

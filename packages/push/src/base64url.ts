// Base64url helpers. Subscriptions arrive from browsers as unpadded base64url, but some
// client libraries send standard base64 (with +/ and padding), so decoding accepts both
// alphabets while still rejecting anything else: Buffer.from() alone silently skips
// garbage characters, which would turn a malformed key into a short, wrong one.

const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;
const BASE64URL_UNPADDED = /^[A-Za-z0-9_-]*$/;

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** Decodes base64url (or standard base64); returns null when the text is not base64 at all. */
export function fromBase64Url(text: string): Buffer | null {
  if (!BASE64_ANY.test(text)) return null;
  // A lone trailing character encodes fewer than 8 bits: not a valid encoding.
  if (text.replace(/=+$/, "").length % 4 === 1) return null;
  return Buffer.from(text, "base64url");
}

/** Like fromBase64Url but throws; for values we generated ourselves. */
export function decodeBase64Url(text: string): Buffer {
  const bytes = fromBase64Url(text);
  if (bytes === null) throw new TypeError("not a base64url string");
  return bytes;
}

/** True for strings made only of the unpadded base64url alphabet (used for Topic). */
export function isBase64UrlAlphabet(text: string): boolean {
  return BASE64URL_UNPADDED.test(text);
}

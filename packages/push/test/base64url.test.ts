import { describe, expect, it } from "vitest";
import { fromBase64Url, isBase64UrlAlphabet, toBase64Url } from "../src/base64url";

describe("base64url", () => {
  it("round-trips bytes without padding", () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x01]);
    const text = toBase64Url(bytes);
    expect(text).toBe("-_-_AAE");
    expect(fromBase64Url(text)).toEqual(bytes);
  });

  it("also accepts standard base64 with padding (some clients send that)", () => {
    expect(fromBase64Url("+/+/AAE=")).toEqual(Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x01]));
  });

  it("rejects text that is not base64 instead of silently skipping characters", () => {
    expect(fromBase64Url("abc$def")).toBeNull();
    expect(fromBase64Url("a b")).toBeNull();
    expect(fromBase64Url("abcde")).toBeNull(); // one dangling character cannot encode a byte
  });

  it("isBase64UrlAlphabet allows only the url-safe alphabet without padding", () => {
    expect(isBase64UrlAlphabet("abc-_09XYZ")).toBe(true);
    expect(isBase64UrlAlphabet("abc+")).toBe(false);
    expect(isBase64UrlAlphabet("abc=")).toBe(false);
  });
});

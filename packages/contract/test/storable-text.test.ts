import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { MAX_LANGUAGE_LENGTH, UNSTORABLE_TEXT_MESSAGE, contractEntries, isStorableText, languageSchema, text, timezoneSchema } from "../src";

// PostgreSQL refuses NUL in text (the request used to fail with 500 there and succeed on SQLite), and
// an unpaired surrogate is silently stored as U+FFFD by both drivers. Every string an input accepts
// must refuse both at the contract, with the same message, naming the field. This walks every
// contract entry's input, so a field added later without `text()`/`storable()` fails here.

type Path = (string | number)[];

/** The paths of every string an input schema accepts (the input side of pipes; `0` for array items). */
function stringPaths(schema: z.ZodType, path: Path = []): Path[] {
  const def = (schema as any)._zod.def;
  switch (def.type as string) {
    case "string":
      return [path];
    case "object":
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, v]) => stringPaths(v, [...path, k]));
    case "array":
      return stringPaths(def.element, [...path, 0]);
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "nonoptional":
    case "catch":
      return stringPaths(def.innerType, path);
    case "pipe":
      return stringPaths(def.in, path);
    case "union":
      return (def.options as z.ZodType[]).flatMap((o) => stringPaths(o, path));
    case "number":
    case "boolean":
    case "enum":
    case "literal":
    case "null":
    case "undefined":
      return [];
    default:
      throw new Error(`stringPaths does not know zod type "${def.type}" at ${path.join(".") || "(root)"}: teach it, so its strings are checked too`);
  }
}

/** `{a: {b: [value]}}` for the path `a.b.0`. */
function inputWith(path: Path, value: string): unknown {
  return path.reduceRight<unknown>((inner, seg) => (typeof seg === "number" ? [inner] : { [seg]: inner }), value);
}

const BAD = { nul: "ok\u0000ok", loneHigh: "ok\uD800", loneLow: "\uDC00ok", reversedPair: "\uDC00\uD800" };

describe("isStorableText", () => {
  it("accepts any well-formed text, astral characters included", () => {
    for (const s of ["", "plain", "héllo wörld", "👋 emoji pair", "日本語", "tab\tnewline\n", "\uD83D\uDC4B"]) expect(isStorableText(s), JSON.stringify(s)).toBe(true);
  });
  it("refuses NUL and unpaired surrogates anywhere in the string", () => {
    for (const s of [...Object.values(BAD), "\u0000", "a\uD83D", "\uDC4Ba"]) expect(isStorableText(s), JSON.stringify(s)).toBe(false);
  });
  it("text() checks before trimming, so padding cannot hide anything", () => {
    expect(text().trim().safeParse(" \u0000 ").success).toBe(false);
    expect(text().trim().parse("  ok  ")).toBe("ok");
  });
});

describe("every string field of every contract input refuses NUL and lone surrogates", () => {
  const entries = contractEntries();
  const fields = entries.flatMap(([name, def]) => stringPaths(def.input).map((path) => ({ name, def, path })));

  it("finds the string fields (the walk is not vacuous)", () => {
    const of = (op: string) => fields.filter((f) => f.name === op).map((f) => f.path.join("."));
    expect(of("subscribers.register").sort()).toEqual(["auth", "city", "country", "endpoint", "keys.auth", "keys.p256dh", "language", "p256dh", "projectId", "timezone", "userAgent"]);
    expect(of("subscribers.tags").sort()).toEqual(["add.0", "externalId", "remove.0", "token"]);
    expect(of("projects.update")).toEqual(expect.arrayContaining(["name", "timezone", "deliveryPolicy.quietHours.start", "deliveryPolicy.quietHours.end"]));
    expect(of("partnerTenants.list").sort()).toEqual(["cursor", "search"]);
    expect(of("auth.login").sort()).toEqual(["email", "password"]);
    // Every entry but auth.me and sdk.config (they take no input) takes at least one string.
    expect(new Set(fields.map((f) => f.name))).toEqual(new Set(entries.map(([n]) => n).filter((n) => n !== "auth.me" && n !== "sdk.config")));
    expect(fields.length).toBeGreaterThan(60);
  });

  for (const [kind, bad] of Object.entries(BAD)) {
    it(`${kind}: each field answers the one message, at its own path`, () => {
      const missing: string[] = [];
      for (const { name, def, path } of fields) {
        const res = def.input.safeParse(inputWith(path, bad));
        const hit = !res.success && res.error.issues.some((i) => i.message === UNSTORABLE_TEXT_MESSAGE && i.path.join(".") === path.join("."));
        if (!hit) missing.push(`${name}: ${path.join(".")}`);
      }
      expect(missing).toEqual([]);
    });
  }
});

describe("canonicalized strings fit their column after the transform", () => {
  it("language: canonical form is stored, and one longer than 35 characters is refused", () => {
    expect(languageSchema.parse("EN-us")).toBe("en-US");
    expect(languageSchema.parse("sh")).toBe("sr-Latn");
    expect(languageSchema.parse("und-u-ca-islamicc-ms-uksystem")).toBe("und-u-ca-islamic-civil-ms-uksystem");
    // 35 characters in, 45 once canonical (sh → sr-Latn, islamicc → islamic-civil).
    const tag = "sh-u-ca-islamicc-nu-arab-co-phonebk";
    expect(tag.length).toBe(MAX_LANGUAGE_LENGTH);
    const res = languageSchema.safeParse(tag);
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => i.message)).toEqual([expect.stringMatching(/canonical form .* longer than 35/)]);
    expect(languageSchema.safeParse("not a tag").error?.issues.map((i) => i.message)).toEqual(["Must be a BCP 47 language tag, e.g. en-US"]);
  });
  it("language: no canonical form of an accepted tag exceeds the column", () => {
    for (const tag of ["en-u-ca-islamicc", "cnr-u-ca-ethioaa-co-phonebk-nu-arab", "sh-BA-u-ca-islamicc", "x-private-tag-long-enough-to-matter", "zh-Hant-TW-u-nu-hanidec-ca-chinese"]) {
      const res = languageSchema.safeParse(tag);
      if (res.success) expect(res.data.length, `${tag} → ${res.data}`).toBeLessThanOrEqual(MAX_LANGUAGE_LENGTH);
    }
  });
  it("timezone: aliases become their canonical zone and still fit 64 characters", () => {
    expect(timezoneSchema.parse("US/Eastern")).toBe("America/New_York");
    expect(timezoneSchema.parse("europe/paris")).toBe("Europe/Paris");
    expect(timezoneSchema.safeParse("+05:00").error?.issues.map((i) => i.message)).toEqual(["Must be an IANA time zone name, e.g. Europe/Paris or UTC"]);
    for (const tz of Intl.supportedValuesOf("timeZone")) expect(timezoneSchema.parse(tz).length).toBeLessThanOrEqual(64);
  });
});

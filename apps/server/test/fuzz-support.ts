import http from "node:http";
import fc from "fast-check";
import { type Kysely, sql } from "kysely";
import type { ApiResponse } from "./support";

// Building blocks of the contract fuzzer (fuzz.contract.test.ts): fast-check arbitraries derived from
// zod 4 schemas, a dictionary of hostile values, late-bound references to real resources, raw HTTP
// (so paths reach the server byte for byte, dot segments included), a cheap database fingerprint and
// a printer that keeps 10k-character strings and 1000-level nestings readable in a failure report.

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Nested `levels` deep: arrays (`[[[…]]]`) or objects (`{"a":{"a":…}}`). */
export function deep(levels: number, kind: "array" | "object"): unknown {
  let v: unknown = kind === "array" ? [] : {};
  for (let i = 0; i < levels; i++) v = kind === "array" ? [v] : { a: v };
  return v;
}

/** An object whose own (JSON-visible) key is `key`: `{"__proto__": …}` on the wire. */
export function ownKey(key: string, value: unknown, base: Record<string, unknown> = {}): Record<string, unknown> {
  const o = { ...base };
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");

/** Cursors no server issued: garbage, NUL, non-ids, invalid UTF-8, SQL, padding games, wrong alphabets. */
export const BOGUS_CURSORS: readonly string[] = [
  "garbage",
  "0",
  "-1",
  "null",
  b64("\u0000"),
  b64("proj_01HX000000000000000000000\u0000"),
  b64("org_ZZZZZZZZZZZZZZZZZZZZZZZZZZ\u0000"),
  b64(Buffer.from([0xff, 0xfe, 0x00, 0x80])),
  b64("' or 1=1 --"),
  b64("org_zzzzzzzzzzzzzzzzzzzzzzzzzz"),
  b64('{"id":"org_01HX0000000000000000000000","offset":-1}'),
  "b3JnX1paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlp!",
  "%%%",
  "====",
  "..",
  "x".repeat(200),
];

/** Strings that have broken parsers, routers, databases and length checks somewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\t\n\r",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "x\uDC00y",
  "\uDBFF\uDFFF\uDBFF",
  "..",
  ".",
  "./",
  "../",
  "../..",
  "../../etc/passwd",
  "%2E%2E",
  "%2e%2e/%2e%2e",
  ".%2E",
  "%00",
  "%",
  "%zz",
  "%252E%252E",
  "a/b",
  "a%2Fb",
  "?x=1",
  "#frag",
  "a;b=c",
  "x".repeat(10_000),
  "é".repeat(5_000),
  "🔥".repeat(2_000),
  "e\u0301".repeat(300),
  "\u202Eevil\u202C",
  "\uFEFFbom",
  "\u200B",
  "ß".repeat(150),
  "ﬃ",
  "İ",
  "ｆｕｌｌｗｉｄｔｈ",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-1",
  "1e309",
  "9".repeat(400),
  "0x10",
  "true",
  "[]",
  "{}",
  "' OR '1'='1",
  "'; drop table users; --",
  "\\",
  '"',
  "<script>alert(1)</script>",
  "${7*7}",
  "{{7*7}}",
  "org_01HX0000000000000000000000",
  "proj_01HX0000000000000000000000",
  "sub_01HX0000000000000000000000",
  "mem_01HX0000000000000000000000",
  ...BOGUS_CURSORS.slice(4, 11),
];

/** Numbers at and past every edge (JSON cannot carry NaN/Infinity: they become null). */
export const HOSTILE_NUMBERS: readonly unknown[] = [
  -1,
  0,
  -0,
  1.5,
  0.1,
  1e21,
  1e308,
  -1e308,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
  "5",
  "1e3",
  "0x10",
  " 7 ",
  "",
  "Infinity",
  "-1",
  "9".repeat(400),
];

let deepArray: unknown;
let deepObject: unknown;
/** Values of the wrong type, wherever they go. The 1000-level nestings are built once. */
export function wrongTypes(): readonly unknown[] {
  deepArray ??= deep(1_000, "array");
  deepObject ??= deep(1_000, "object");
  return [
    0,
    -1,
    1e308,
    true,
    false,
    null,
    [],
    ["a"],
    [null],
    {},
    { a: 1 },
    ownKey("__proto__", { polluted: "yes" }),
    { constructor: { prototype: { polluted: "yes" } } },
    deepArray,
    deepObject,
  ];
}

/** Field-specific traps: canonical forms longer than the column, aliases, offsets, path games. */
export const FIELD_TRAPS: Record<string, readonly string[]> = {
  language: ["sh", "cnr", "en-u-ca-islamicc", "sh-u-ca-islamicc-co-phonebk", "sh-t-sh-u-ca-islamicc", "sh-u-ca-islamicc-ms-imperial", "sh-u-ca-islamicc-co-phonebk-nu-ar", "art-lojban", "i-klingon", "EN_us", "x".repeat(35)],
  timezone: ["US/Eastern", "europe/paris", "Etc/GMT+5", "+05:00", "EST5EDT", "America/Argentina/ComodRivadavia", "localtime", "posix/Europe/Paris", "../../etc/passwd", "Europe/../Europe/Paris", "UTC\u0000"],
  endpoint: ["https://127.0.0.1/x", "https://[::1]/x", "http://example.com/x", "javascript:alert(1)", "file:///etc/passwd", "https://user:pass@example.com/x", "https://example.com/" + "a".repeat(2100), "https://xn--80ak6aa92e.com/%00", "https://example.com/\u0000"],
  url: ["javascript:alert(1)", "data:text/html,x", "https://example.com/\u0000", "https://" + "a".repeat(2050) + ".com", "ftp://example.com/x"],
  email: ["a@b", "@example.test", "a@@example.test", "A@EXAMPLE.TEST", " a@example.test ", "a@example.test\u0000", "a".repeat(250) + "@example.test", "a@xn--80ak6aa92e.com"],
  p256dh: ["BA" + "A".repeat(85), "A".repeat(87), "B".repeat(86) + "==", "=".repeat(88)],
  auth: ["A".repeat(22), "A".repeat(21), "A".repeat(22) + "==", "A".repeat(24)],
  topic: ["a".repeat(33), "a b", "ok-topic_1"],
  start: ["24:00", "7:00", "22:00:00", "22:60", "-1:00"],
  end: ["24:00", "7:00", "22:00:00", "22:60"],
};

// ---------------------------------------------------------------------------------------------
// Late-bound references: real resources, resolved just before the request is sent

/** A placeholder for a real value (an id, a token, a fresh email) that the runner fills in at send time. */
export interface Ref {
  readonly ref: string;
  /** Applied to the resolved value: a real id with a hostile suffix is still a hostile id. */
  readonly wrap?: (value: string) => string;
}
export const ref = (name: string, wrap?: (value: string) => string): Ref => ({ ref: name, ...(wrap ? { wrap } : {}) });
export const isRef = (v: unknown): v is Ref => typeof v === "object" && v !== null && typeof (v as Ref).ref === "string" && Object.keys(v).every((k) => k === "ref" || k === "wrap");

/** An object key left out (an optional field, or a required one dropped on purpose). */
export const OMIT: unique symbol = Symbol("omit");

/** Suffixes that turn a real value into a hostile one. */
const SUFFIXES = ["\u0000", "/..", "/../..", "%2F..", " ", "\uD800", "'", "x".repeat(300)];

// ---------------------------------------------------------------------------------------------
// Arbitraries from zod 4 schemas

export interface ArbOptions {
  /** A valid-shaped value for a top-level field (usually a Ref to a real resource), used instead of the schema's own. */
  known?: Record<string, fc.Arbitrary<unknown>>;
  /** Weight of a valid leaf against 1 for a hostile one (default 3). */
  validWeight?: number;
}

type Def = { type: string; [k: string]: any };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
const checksOf = (s: unknown): Def[] => (defOf(s).checks ?? []).map((c: unknown) => defOf(c));

interface StringRules {
  min: number;
  max: number | undefined;
  patterns: RegExp[];
  format: string | undefined;
}
function stringRules(s: unknown): StringRules {
  const d = defOf(s);
  const r: StringRules = { min: 0, max: undefined, patterns: [], format: d.format };
  for (const c of checksOf(s)) {
    if (c.check === "min_length") r.min = Math.max(r.min, c.minimum);
    if (c.check === "max_length") r.max = Math.min(r.max ?? Infinity, c.maximum);
    if (c.check === "length_equals") r.min = r.max = c.length;
    if (c.check === "string_format" && c.format === "regex" && c.pattern) r.patterns.push(c.pattern);
  }
  return r;
}

function numberRules(s: unknown): { min: number; max: number; int: boolean } {
  const r = { min: -1e9, max: 1e9, int: false };
  for (const c of checksOf(s)) {
    if (c.check === "greater_than") r.min = c.inclusive ? c.value : c.value + (r.int ? 1 : Number.EPSILON);
    if (c.check === "less_than") r.max = c.inclusive ? c.value : c.value - 1;
    if (c.check === "number_format" && /int/.test(c.format)) r.int = true;
  }
  return r;
}

const constants = (values: readonly unknown[]) => fc.constantFrom(...values);

function validString(s: unknown, field: string): fc.Arbitrary<unknown> {
  const r = stringRules(s);
  // No declared maximum: a pattern decides the length (a 60 cap would filter out every 87-char key forever).
  const max = r.max ?? (r.patterns.length > 0 ? Infinity : 60);
  const fits = (v: string) => v.length >= r.min && v.length <= max && r.patterns.every((p) => p.test(v));
  if (r.format === "email") return fc.emailAddress().filter((e) => e.length <= max);
  if (r.format === "url") return fc.webUrl({ validSchemes: ["https"] }).filter((u) => u.length <= max);
  if (r.format === "datetime") return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  if (r.patterns.length > 0) return fc.stringMatching(r.patterns[0]!).filter(fits);
  const len = { minLength: r.min, maxLength: Math.min(max, 40) };
  const atMax = ["x".repeat(max), "é".repeat(max), "🔥".repeat(Math.floor(max / 2))].filter(fits);
  void field;
  return fc.oneof(
    { weight: 6, arbitrary: fc.string({ ...len, unit: "grapheme-ascii" }).filter(fits) },
    { weight: 2, arbitrary: fc.string({ ...len, unit: "grapheme" }).filter(fits) },
    ...(atMax.length > 0 ? [{ weight: 1, arbitrary: constants(atMax) }] : []),
  );
}

function hostileString(s: unknown, field: string, valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const r = stringRules(s);
  const boundary: string[] = [];
  if (r.min > 0) boundary.push("x".repeat(r.min - 1));
  if (r.max !== undefined) boundary.push("x".repeat(r.max + 1), "é".repeat(r.max + 1), "🔥".repeat(Math.ceil((r.max + 1) / 2)), ` ${"x".repeat(r.max)} `);
  const traps = FIELD_TRAPS[field] ?? [];
  const suffixed = valid.chain((v) =>
    fc.constantFrom(...SUFFIXES).map((suffix) => (isRef(v) ? ref(v.ref, (x) => (v.wrap ? v.wrap(x) : x) + suffix) : typeof v === "string" ? v + suffix : v)),
  );
  return fc.oneof(
    { weight: 6, arbitrary: constants(HOSTILE_STRINGS) },
    { weight: 2, arbitrary: constants(boundary.length > 0 ? boundary : [""]) },
    { weight: traps.length > 0 ? 4 : 0, arbitrary: constants(traps.length > 0 ? traps : [""]) },
    { weight: 2, arbitrary: suffixed },
    { weight: 2, arbitrary: constants(wrongTypes()) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: "binary" }) },
  );
}

function validNumber(s: unknown): fc.Arbitrary<unknown> {
  const r = numberRules(s);
  const min = Math.max(r.min, -1e9);
  const max = Math.min(r.max, 1e9);
  const edges = [min, max].filter((x) => Number.isFinite(x));
  const body = r.int ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true });
  return fc.oneof({ weight: 4, arbitrary: body }, { weight: 1, arbitrary: constants(edges.length > 0 ? edges : [0]) });
}

function hostileNumber(s: unknown): fc.Arbitrary<unknown> {
  const r = numberRules(s);
  const edges = [r.min - 1, r.max + 1, r.min + 0.5].filter((x) => Number.isFinite(x));
  return fc.oneof(
    { weight: 4, arbitrary: constants(HOSTILE_NUMBERS) },
    { weight: 2, arbitrary: constants(edges.length > 0 ? edges : [-1]) },
    { weight: 2, arbitrary: constants(wrongTypes()) },
    { weight: 1, arbitrary: constants(HOSTILE_STRINGS) },
  );
}

const EXTRA_KEYS: readonly [string, unknown][] = [
  ["__proto__", { polluted: "yes" }],
  ["constructor", { prototype: { polluted: "yes" } }],
  ["prototype", { polluted: "yes" }],
  ["toString", "x"],
  ["hasOwnProperty", 1],
  ["unexpected", "x"],
  ["id", "org_01HX0000000000000000000000"],
];

/**
 * An arbitrary for `schema`: mostly valid-shaped values (objects with their fields, strings within
 * their lengths and patterns, numbers within their bounds, enum members) whose leaves are hostile now
 * and then, plus whole values of the wrong type, unexpected and prototype-polluting keys.
 */
export function arbitraryFor(schema: unknown, opts: ArbOptions = {}, field = "", depth = 0): fc.Arbitrary<unknown> {
  const w = opts.validWeight ?? 3;
  const leaf = (valid: fc.Arbitrary<unknown>, hostile: fc.Arbitrary<unknown>) => fc.oneof({ weight: w, arbitrary: valid }, { weight: 1, arbitrary: hostile });
  const known = depth === 1 ? opts.known?.[field] : undefined;
  const d = defOf(schema);
  switch (d.type) {
    case "optional":
    case "default":
    case "prefault":
      return fc.oneof({ weight: 2, arbitrary: arbitraryFor(d.innerType, opts, field, depth) }, { weight: 1, arbitrary: fc.constant(OMIT) });
    case "nullable":
      return fc.oneof({ weight: 4, arbitrary: arbitraryFor(d.innerType, opts, field, depth) }, { weight: 1, arbitrary: fc.constant(null) });
    case "readonly":
    case "catch":
    case "nonoptional":
      return arbitraryFor(d.innerType, opts, field, depth);
    case "lazy":
      return arbitraryFor(d.getter(), opts, field, depth);
    case "pipe":
      return arbitraryFor(defOf(d.in).type === "transform" ? d.out : d.in, opts, field, depth);
    case "string": {
      const valid = known ?? validString(schema, field);
      return leaf(valid, hostileString(schema, field, valid));
    }
    case "number": {
      const valid = known ?? (d.coerce ? fc.oneof(validNumber(schema), validNumber(schema).map(String)) : validNumber(schema));
      return leaf(valid, hostileNumber(schema));
    }
    case "boolean":
      return leaf(known ?? fc.boolean(), constants(["true", "false", 0, 1, ...wrongTypes()]));
    case "enum": {
      const values = Object.values(d.entries as Record<string, string | number>);
      const hostile = [...values.map((v) => String(v).toLowerCase()), ...values.map((v) => ` ${String(v)}`), "SUPERADMIN", "", ...wrongTypes()];
      return leaf(known ?? constants(values), constants(hostile));
    }
    case "literal":
      return leaf(known ?? constants(d.values as unknown[]), constants(wrongTypes()));
    case "array": {
      const max = checksOf(schema).find((c) => c.check === "max_length")?.maximum as number | undefined;
      const element = arbitraryFor(d.element, opts, `${field}[]`, depth + 1);
      const valid = known ?? fc.array(element, { maxLength: Math.min(max ?? 5, 5) });
      const tooMany = max !== undefined ? [fc.array(fc.constant("x"), { minLength: max + 1, maxLength: max + 1 })] : [];
      return leaf(valid, fc.oneof(constants(wrongTypes()), constants(HOSTILE_STRINGS), ...tooMany));
    }
    case "union":
      return known ?? fc.oneof(...(d.options as unknown[]).map((o) => arbitraryFor(o, opts, field, depth)));
    case "object": {
      const shape = d.shape as Record<string, unknown>;
      const keys = Object.keys(shape);
      const fields = keys.map((k) => {
        const a = arbitraryFor(shape[k], opts, k, depth + 1);
        // A required field is sometimes left out altogether.
        const required = !["optional", "default", "prefault"].includes(defOf(shape[k]).type);
        return required ? fc.oneof({ weight: 12, arbitrary: a }, { weight: 1, arbitrary: fc.constant(OMIT) }) : a;
      });
      const extras = fc.oneof({ weight: 8, arbitrary: fc.constant([] as [string, unknown][]) }, { weight: 1, arbitrary: fc.subarray([...EXTRA_KEYS], { minLength: 1 }) });
      const obj = fc.tuple(fc.tuple(...fields), extras).map(([values, extra]) => {
        let o: Record<string, unknown> = {};
        keys.forEach((k, i) => {
          if (values[i] !== OMIT) o[k] = values[i];
        });
        for (const [k, v] of extra) o = ownKey(k, v, o);
        return o;
      });
      // Nested objects are sometimes of the wrong type as a whole; the top level has its own variants.
      return depth === 0 ? obj : known ?? leaf(obj, constants(wrongTypes()));
    }
    default:
      return known ?? fc.oneof(fc.jsonValue({ maxDepth: 2 }), constants(wrongTypes()));
  }
}

/** Whole inputs of the wrong kind, for the top level of a request. */
export const hostileTopLevel = (): fc.Arbitrary<unknown> => constants([...wrongTypes(), "x", "", ...HOSTILE_STRINGS.slice(0, 8)]);

/** Replaces Refs (depth-first) by what `resolve` returns for them; removes OMIT. */
export async function resolveRefs(v: unknown, resolve: (name: string) => Promise<string | undefined>): Promise<unknown> {
  if (isRef(v)) {
    const value = await resolve(v.ref);
    return value === undefined ? OMIT : v.wrap ? v.wrap(value) : value;
  }
  if (v === null || typeof v !== "object" || tooDeep(v)) return v;
  if (Array.isArray(v)) return Promise.all(v.map((x) => resolveRefs(x, resolve)));
  if (Object.getPrototypeOf(v) === Object.prototype) {
    let out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const r = await resolveRefs((v as Record<string, unknown>)[k], resolve);
      if (r !== OMIT) out = k === "__proto__" ? ownKey(k, r, out) : { ...out, [k]: r };
    }
    return out;
  }
  return v;
}

const tooDeep = (v: unknown): boolean => nesting(v, 20) >= 20;
function nesting(v: unknown, cap: number): number {
  let n = 0;
  let cur: unknown = v;
  while (n < cap && cur && typeof cur === "object") {
    const values: unknown[] = Object.values(cur);
    if (values.length !== 1) return values.some((x) => x && typeof x === "object") ? n + 1 : n;
    cur = values[0];
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reporting

/** A compact, exact rendering: escapes NUL and lone surrogates, abbreviates long strings and deep nesting. */
export function show(v: unknown, depth = 0): string {
  if (v === undefined) return "undefined";
  if (typeof v === "string") {
    if (v.length <= 80) return JSON.stringify(v);
    const head = v.slice(0, 24);
    return `${JSON.stringify(head)}…(${v.length} chars${/^(.)\1*$/su.test(v) ? ` of ${JSON.stringify(v.slice(0, 1))}` : ""})`;
  }
  if (typeof v !== "object" || v === null) return JSON.stringify(v) ?? String(v);
  if (depth >= 4) {
    const n = nesting(v, 5_000);
    return n > 3 ? `${Array.isArray(v) ? "[…]" : "{…}"}(${n} levels)` : Array.isArray(v) ? "[…]" : "{…}";
  }
  if (Array.isArray(v)) return `[${v.slice(0, 8).map((x) => show(x, depth + 1)).join(",")}${v.length > 8 ? `,…(${v.length} items)` : ""}]`;
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${show((v as Record<string, unknown>)[k], depth + 1)}`)
    .join(",")}}`;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP

/** Percent-encodes a path segment the way a client would; a lone surrogate (which no URL can carry) becomes U+FFFD. */
export const pct = (s: string): string => encodeURIComponent(Buffer.from(s, "utf8").toString("utf8"));

/**
 * One HTTP request with the path sent exactly as given: `fetch` would resolve `/projects/..` (and
 * `%2E%2E`) to `/` on the client, hiding what the server does with dot segments.
 */
export function rawRequest(agent: http.Agent, baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<ApiResponse> {
  const url = new URL(baseUrl);
  const all = body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: all, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* not JSON */
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
        resolve({ status: res.statusCode ?? 0, headers: h, body: parsed });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// Database fingerprint

/** Row counts and the latest timestamps (plus role and tag aggregates, which change without one) of every table. */
const FINGERPRINT: readonly [string, string][] = [
  ["users", "select count(*) from users"],
  ["users.updated_at", "select max(updated_at) from users"],
  ["organizations", "select count(*) from organizations"],
  ["organizations.updated_at", "select max(updated_at) from organizations"],
  ["memberships", "select count(*) from memberships"],
  ["memberships.OWNER", "select count(*) from memberships where role = 'OWNER'"],
  ["memberships.ADMIN", "select count(*) from memberships where role = 'ADMIN'"],
  ["memberships.MEMBER", "select count(*) from memberships where role = 'MEMBER'"],
  ["partners", "select count(*) from partners"],
  ["partner_secrets", "select count(*) from partner_secrets"],
  ["partner_secrets.expires_at", "select max(expires_at) from partner_secrets"],
  ["projects", "select count(*) from projects"],
  ["projects.updated_at", "select max(updated_at) from projects"],
  ["api_keys", "select count(*) from api_keys"],
  ["api_keys.revoked", "select count(revoked_at) from api_keys"],
  ["subscribers", "select count(*) from subscribers"],
  ["subscribers.updated_at", "select max(updated_at) from subscribers"],
  ["subscriber_tags", "select count(*) from subscriber_tags"],
  ["subscriber_tags.length", "select coalesce(sum(length(tag)), 0) from subscriber_tags"],
  ["messages", "select count(*) from messages"],
  ["messages.completed_at", "select max(completed_at) from messages"],
  ["idempotency_keys", "select count(*) from idempotency_keys"],
  ["idempotency_keys.created_at", "select max(created_at) from idempotency_keys"],
];
const FINGERPRINT_SQL = `select ${FINGERPRINT.map(([, q], i) => `(${q}) as f${i}`).join(", ")}`;

export type Fingerprint = Record<string, string>;

/** One round trip: `{ "users": "3", "users.updated_at": "2026-…", … }`. */
export async function fingerprint(db: Kysely<any>): Promise<Fingerprint> {
  const { rows } = await sql.raw<Record<string, unknown>>(FINGERPRINT_SQL).execute(db);
  const row = rows[0] ?? {};
  const out: Fingerprint = {};
  FINGERPRINT.forEach(([label], i) => {
    const v = row[`f${i}`];
    out[label] = v === null || v === undefined ? "-" : String(v);
  });
  return out;
}

/** What differs between two fingerprints, e.g. `["projects: 3 → 4"]`. */
export const fingerprintDiff = (a: Fingerprint, b: Fingerprint): string[] =>
  Object.keys(a)
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${a[k]} → ${b[k]}`);

// ---------------------------------------------------------------------------------------------
// Seeds

/** A 32-bit seed per operation, derived from the run's seed so every operation replays on its own. */
export function seedFor(base: number, op: string): number {
  let h = base >>> 0;
  for (let i = 0; i < op.length; i++) h = Math.imul(h ^ op.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}


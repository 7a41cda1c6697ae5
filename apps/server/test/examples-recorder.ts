import { appendFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { type ProcedureDef, contractEntries } from "@reachbell/contract";
import { expect } from "vitest";
import { API_PREFIX } from "../src/http/api-prefix";
import type { ExampleRequest, RecordedExample } from "../src/http/openapi-examples";
import { RECORD_DIR } from "./examples-setup";

/**
 * Records the HTTP tests' requests and responses as OpenAPI examples (RECORD_EXAMPLES=1, see
 * `pnpm --filter @reachbell/server examples:update`). Each worker appends the first example per
 * operation × status × test file to a JSON-lines file of its own; test/examples-setup.ts merges them.
 */
export const RECORDING = process.env.RECORD_EXAMPLES === "1";

/** Placeholders for credentials: a recorded example never shows a real token or key. */
export const PLACEHOLDER = {
  jwt: "eyJ…",
  apiKey: (key: string) => (key.startsWith("rb_live_") ? "rb_live_…" : "rb_test_…"),
  /** RFC 8291 §5's example subscription keys, instead of the tests' throwaway ones. */
  p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
};

interface Route {
  def: ProcedureDef;
  method: string;
  segments: string[];
}
let routes: Route[] | undefined;
const routeList = (): Route[] =>
  (routes ??= contractEntries().map(([, def]) => ({ def, method: def.meta.rest.method, segments: def.meta.rest.path.split("/") })));

/**
 * The contract operation a request reaches, by method and path against the REST templates, in
 * declaration order (trpc-to-openapi's first-declared-wins). Only plain spellings count (exact case,
 * no dot segments or escapes in static segments): an edge-case request is no example.
 */
export function matchOperation(method: string, rawPath: string): { def: ProcedureDef; params: Record<string, string> } | undefined {
  let path = rawPath;
  if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) path = path.slice(API_PREFIX.length) || "/";
  if (path.length > 1 && path.endsWith("/")) return undefined;
  const segments = path.split("/");
  for (const r of routeList()) {
    if (r.method !== method.toUpperCase() || r.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; ok && i < segments.length; i++) {
      const t = r.segments[i]!;
      const s = segments[i]!;
      const param = /^\{(.+)\}$/.exec(t);
      if (param) {
        let value: string;
        try {
          value = decodeURIComponent(s);
        } catch {
          return undefined;
        }
        ok = value !== "" && value === s && !/^\.\.?$/.test(s);
        params[param[1]!] = value;
      } else ok = t === s;
    }
    if (ok) return { def: r.def, params };
  }
  return undefined;
}

/** Replaces credentials in a request or response body (recursively) with placeholders. */
export function redact(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  if (typeof value !== "string") return value;
  if (/^rb_(live|test)_[A-Za-z0-9_-]{16,}$/.test(value)) return PLACEHOLDER.apiKey(value);
  if (/^eyJ[\w-]*\.[\w-]*\.[\w-]*$/.test(value)) return PLACEHOLDER.jwt;
  if (key === "p256dh" && /^[\w-]{87}=?$/.test(value)) return PLACEHOLDER.p256dh;
  if (key === "auth" && /^[\w-]{22}(==)?$/.test(value)) return PLACEHOLDER.auth;
  return value;
}

const SHOWN_HEADERS = ["authorization", "x-api-key", "x-org-id", "reach-tenant-id", "content-type"];

function shownHeaders(def: ProcedureDef, headers: Record<string, string>): Record<string, string> {
  const names = new Set([...SHOWN_HEADERS, ...(def.meta.headers ?? []).map((h) => h.name.toLowerCase())]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (!names.has(name)) continue;
    if (name === "content-type" && /^application\/json\b/i.test(v)) continue;
    if (name === "authorization") out[name] = v.replace(/^(Bearer\s+).*$/i, `$1${PLACEHOLDER.jwt}`);
    else if (name === "x-api-key") out[name] = PLACEHOLDER.apiKey(v);
    else out[name] = v;
  }
  return out;
}

const seen = new Set<string>();
let sequence = 0;

/** Called by `call()` in test/support.ts after every response, when RECORDING. */
export function recordExample(
  method: string,
  target: string,
  request: { headers: Record<string, string>; body?: unknown; rawBody?: string },
  response: { status: number; body: unknown },
): void {
  if (request.rawBody !== undefined) return;
  const url = new URL(target, "http://127.0.0.1");
  const match = matchOperation(method, url.pathname);
  if (!match) return;
  // JSON bodies only, but for a download's success: its body is text in the type it produces (CSV).
  const text = match.def.kind === "download" && response.status < 300 && typeof response.body === "string";
  if (!text && (typeof response.body !== "object" || response.body === null)) return;
  const state = expect.getState();
  const file = basename(state.testPath ?? "unknown");
  const operationId = match.def.meta.operationId;
  const key = `${operationId} ${response.status} ${file}`;
  if (seen.has(key)) return;
  seen.add(key);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const req: ExampleRequest = { method: method.toUpperCase(), path: url.pathname + url.search };
  if (Object.keys(match.params).length > 0) req.params = match.params;
  if (Object.keys(query).length > 0) req.query = query;
  const headers = shownHeaders(match.def, request.headers);
  if (Object.keys(headers).length > 0) req.headers = headers;
  if (request.body !== undefined) req.body = redact(request.body);
  const example: RecordedExample & { file: string; seq: number } = {
    operationId,
    status: response.status,
    source: `${file} › ${state.currentTestName ?? "setup"}`,
    request: req,
    response: redact(response.body),
    file,
    seq: sequence++,
  };
  mkdirSync(RECORD_DIR, { recursive: true });
  appendFileSync(join(RECORD_DIR, `worker-${process.pid}.jsonl`), `${JSON.stringify(example)}\n`);
}

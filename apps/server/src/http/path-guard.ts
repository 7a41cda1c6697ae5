import type { ServerResponse } from "node:http";
import { DOMAIN_ERRORS } from "@reachbell/contract";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import { sendEnvelope } from "./envelope";

/** Most calls one tRPC batch may hold (also the tRPC adapter's `maxBatchSize`). */
export const MAX_TRPC_BATCH_SIZE = 100;

export const MALFORMED_PATH_MESSAGE = "Malformed path: '.' and '..' segments and backslashes are not allowed";
export const BATCH_TOO_LARGE_MESSAGE = `A tRPC batch may hold at most ${MAX_TRPC_BATCH_SIZE} calls`;

/** Why a request target is refused before routing. */
export type PathRefusal = "malformed-path" | "trpc-not-found" | "trpc-batch-too-large";

/** What may need a closer look: a `/` then `.` or `%2e`, a backslash, tRPC, an absolute-form target. */
const SUSPECT = /\/(?:\.|%2e)|\\|^\/trpc(?:\/|$)|^[^/]/i;
/** A segment that URL parsing resolves (`.`, `..`, any case of `%2e`), or a backslash (read as `/`). */
const DOT_SEGMENT_OR_BACKSLASH = /\\|(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;
const TRPC_PREFIX = /^\/trpc(?:\/|$)/i;
/** What in a tRPC procedure part would make the router (last segment) and the limiter disagree. */
const TRPC_BAD_PROCEDURE = /[/\\]|%2f|%5c|^(?:\.|%2e){1,2}$/i;
const COMMA = /,|%2c/gi;

/**
 * Checks a request target (`req.url`, before the `/api` alias is removed: that parses the URL and so
 * resolves dot segments) and says why it must be refused, if it must. Runs on every request: a plain
 * path is answered by one regex test, without parsing anything.
 *
 * - Dot segments (`.`, `..`, `%2e`, `%2E%2E`, `.%2e`, …) and backslashes (which URL parsing reads as
 *   `/`): trpc-to-openapi routes on the WHATWG-parsed path, so `DELETE /projects/p/api-keys/..` would
 *   reach `DELETE /projects/p`. An id can never change which operation runs, so these are refused.
 * - tRPC (`/trpc/…`, any case, as Express mounts it): the adapter takes the procedure from the last
 *   path segment, so `/trpc/x/auth.login` would run `auth.login` while other layers read `x/auth.login`.
 *   A procedure part holding `/` or `\` (raw or percent-encoded), or a dot segment, is refused as a
 *   404; a batch (`?batch=1`) of more than MAX_TRPC_BATCH_SIZE calls (commas, raw or `%2C`, as tRPC
 *   splits them after decoding the path) as a 400, before it is counted or read.
 */
export function pathRefusal(url: string): PathRefusal | undefined {
  if (!SUSPECT.test(url)) return undefined;
  let path = url;
  let query = "";
  // Absolute-form target (`GET http://host/path`): routed by its path.
  const scheme = path[0] === "/" ? -1 : path.indexOf("://");
  if (scheme >= 0) {
    const slash = path.indexOf("/", scheme + 3);
    path = slash < 0 ? "/" : path.slice(slash);
  }
  const q = path.indexOf("?");
  if (q >= 0) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  const hash = path.indexOf("#");
  if (hash >= 0) path = path.slice(0, hash);
  if (TRPC_PREFIX.test(path)) {
    const procedures = path.slice(6);
    // (A dot segment here is the procedure part itself, or follows a `/` in it.)
    if (TRPC_BAD_PROCEDURE.test(procedures)) return "trpc-not-found";
    // (A batch over the limit has at least MAX_TRPC_BATCH_SIZE commas.)
    if (procedures.length >= MAX_TRPC_BATCH_SIZE) {
      const commas = procedures.match(COMMA)?.length ?? 0;
      if (commas >= MAX_TRPC_BATCH_SIZE && new URLSearchParams(query).get("batch") === "1") return "trpc-batch-too-large";
    }
    return undefined;
  }
  return DOT_SEGMENT_OR_BACKSLASH.test(path) ? "malformed-path" : undefined;
}

/** Answers a refused request: the error envelope, or on /trpc tRPC's error shape (as trpc.ts formats it). */
export function sendPathRefusal(res: ServerResponse, refusal: PathRefusal, requestId: string): void {
  if (refusal === "malformed-path") {
    sendEnvelope(res, { statusCode: 400, message: MALFORMED_PATH_MESSAGE, requestId });
    return;
  }
  const [code, httpStatus, message] =
    refusal === "trpc-not-found" ? (["NOT_FOUND", 404, DOMAIN_ERRORS.ROUTE_NOT_FOUND.message] as const) : (["BAD_REQUEST", 400, BATCH_TOO_LARGE_MESSAGE] as const);
  if (res.headersSent) return;
  res.statusCode = httpStatus;
  res.setHeader("content-type", "application/json; charset=utf-8");
  // A request-level error, as tRPC answers one (no call ran): one error object, no procedure path.
  res.end(JSON.stringify({ error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus, path: null, requestId } } }));
}

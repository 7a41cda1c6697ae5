import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/**
 * The request headers handed to procedures (the context's `headers`), with `reach-tenant-id`
 * percent-decoded (UTF-8) when it holds a `%`: HTTP header values are ASCII in practice, so a tenant
 * whose externalId is not ASCII (`日本-42`) is named `reach-tenant-id: %E6%97%A5%E6%9C%AC-42`, as in a
 * path. An externalId never contains `%`, so decoding is unambiguous; a value that does not decode is
 * passed as it is (it names no tenant: 404 Tenant not found).
 *
 * A copy, never `req.headers` changed in place: tRPC's adapter copies those into a fetch `Headers`,
 * which refuses characters above U+00FF. Without a `%` (nearly every request) `req.headers` itself.
 */
export function contextHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const headers = req.headers;
  const value = headers["reach-tenant-id"];
  if (typeof value !== "string" || !value.includes("%")) return headers;
  try {
    return { ...headers, "reach-tenant-id": decodeURIComponent(value) };
  } catch {
    return headers;
  }
}

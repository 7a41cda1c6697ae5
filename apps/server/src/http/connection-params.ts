import type { IncomingHttpHeaders } from "node:http";
import type { TRPCRequestInfo } from "@trpc/server/http";

// A browser's EventSource cannot send headers, so the dashboard's tRPC subscriptions (SSE through
// httpSubscriptionLink) send the credential as tRPC `connectionParams` (a query parameter). For
// subscriptions only, those become the headers the one auth guard reads; a header actually sent wins.
// Only the dashboard's own credential travels this way (never an API key), and the access log
// records paths without their query.

const FROM_PARAMS = ["authorization", "x-org-id"] as const;

export function withConnectionParams(headers: IncomingHttpHeaders, info: Pick<TRPCRequestInfo, "type" | "connectionParams"> | undefined): IncomingHttpHeaders {
  const params = info?.type === "subscription" ? info.connectionParams : null;
  if (!params) return headers;
  let out: IncomingHttpHeaders | undefined;
  for (const name of FROM_PARAMS) {
    const value = params[name];
    if (typeof value !== "string" || value === "" || headers[name] !== undefined) continue;
    out ??= { ...headers };
    out[name] = value;
  }
  return out ?? headers;
}

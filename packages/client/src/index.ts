import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

// The REST client: openapi-fetch over the types openapi-typescript generates from the committed
// OpenAPI document (src/schema.d.ts; `pnpm generate` here, or `pnpm api:update` at the root).

export type { components, operations, paths };

/** The error body of every failed REST call (`{statusCode, message, requestId}`, plus `errors` on 422 and the like). */
export type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];

export interface ReachBellClientOptions extends Omit<ClientOptions, "baseUrl" | "headers"> {
  /** The server's origin, e.g. `https://push.example.com` (REST lives at the root). */
  baseUrl: string;
  /** A project API key (`rb_live_…` / `rb_test_…`), sent as `x-api-key`. */
  apiKey?: string;
  /** A dashboard, tenant or partner JWT, sent as `Authorization: Bearer …`. */
  token?: string;
  /** The organization a dashboard JWT acts in, sent as `x-org-id`. */
  orgId?: string;
}

export type ReachBellClient = Client<paths, "application/json">;

/** A typed client for the ReachBell REST API: `client.POST("/transactional/send", { body })` → `{ data } | { error }`. */
export function createReachBellClient(options: ReachBellClientOptions): ReachBellClient {
  const { baseUrl, apiKey, token, orgId, ...rest } = options;
  const auth: Record<string, string> = {};
  if (apiKey) auth["x-api-key"] = apiKey;
  if (token) auth.authorization = `Bearer ${token}`;
  if (orgId) auth["x-org-id"] = orgId;
  return createClient<paths>({ ...rest, baseUrl: baseUrl.replace(/\/+$/, ""), headers: auth });
}

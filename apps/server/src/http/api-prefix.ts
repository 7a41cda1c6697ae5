import type { Request } from "express";

export const API_PREFIX = "/api";

/**
 * The REST surface is served at `/` and again under `/api` (where the partner documentation puts the
 * tenant routes). The prefix is removed first thing, so the very same chain answers — rate-limit
 * groups, CORS, routing and the procedures all see `/projects`, never `/api/projects` (a second mount
 * of the REST middleware would leave the rate limiter matching `/api/auth/login` to no group).
 * `/api/trpc` is not an alias: tRPC lives at `/trpc` only.
 */
export function removeApiPrefix(req: Request): void {
  if (req.url === API_PREFIX || req.url.startsWith(`${API_PREFIX}/`) || req.url.startsWith(`${API_PREFIX}?`)) {
    // Parsed as the routers parse it (WHATWG URL: dot segments resolved) so the check cannot be dodged.
    const { pathname, search } = new URL(req.url, "http://localhost");
    if (pathname === API_PREFIX || pathname.startsWith(`${API_PREFIX}/`)) {
      const rest = pathname.slice(API_PREFIX.length) || "/";
      if (!/^\/trpc(\/|$)/i.test(rest)) req.url = rest + search;
    }
  }
}

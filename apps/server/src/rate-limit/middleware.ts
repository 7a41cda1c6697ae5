import { isIP } from "node:net";
import { DOMAIN_ERRORS } from "@reachbell/contract";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import type { NextFunction, Request, Response } from "express";
import type { ApiKeyVerifier } from "../auth/api-key-verifier";
import type { RateLimits } from "../env";
import { sendEnvelope } from "../http/envelope";
import { clientIp } from "../http/client-ip";
import type { Logger } from "../logger";
import type { GroupResolver } from "./groups";
import type { RequestCounter } from "./limiter";
import type { ProjectLimits } from "./project-limits";

export interface RateLimitDeps {
  limits: RateLimits;
  groups: GroupResolver;
  counter: RequestCounter;
  apiKeys: ApiKeyVerifier;
  projectLimits: ProjectLimits;
  logger: Logger;
}

/**
 * Rate limiting (SPEC §6), mounted right after the request id and before tRPC, the JSON parser and
 * REST, so a rejected request reads no body, runs no procedure and writes nothing.
 *
 * Per client IP (`req.ip`: the socket address, or the X-Forwarded-For hop TRUST_PROXY selects) per
 * route group from the contract. A request with a valid `x-api-key` whose project has a raised limit
 * for the group is counted under that limit, per IP within the project. Every limited response
 * carries RateLimit-Limit / -Remaining / -Reset (seconds); a 429 adds Retry-After (seconds).
 * Exempt: /healthz, /openapi.json, /docs (static, no work behind them) and OPTIONS preflights.
 * If counting itself fails unexpectedly the request is let through and the fault logged.
 */
export function rateLimitMiddleware(deps: RateLimitDeps) {
  const { limits, groups, counter, apiKeys, projectLimits, logger } = deps;
  const raisedLimit = async (apiKey: string, group: "default" | "ingest", request: object) => {
    const identity = await apiKeys.verify(apiKey, { recordUse: false, request });
    const limit = identity ? (await projectLimits.get(identity.projectId))?.[group] : undefined;
    return identity && limit ? { projectId: identity.projectId, limit } : undefined;
  };
  /** The same answer from the caches alone (the common case), or `false` when they cannot tell. */
  const cachedRaisedLimit = (apiKey: string, group: "default" | "ingest", request: object) => {
    const identity = apiKeys.cached(apiKey, request);
    if (identity === undefined) return false;
    if (identity === null) return undefined;
    const limits = projectLimits.cached(identity.projectId);
    if (limits === undefined) return false;
    const limit = limits?.[group];
    return limit ? { projectId: identity.projectId, limit } : undefined;
  };
  return async function rateLimit(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method === "OPTIONS") return next();
    const match = groups.resolve(req.method, req.url); // never throws: an unparsable URL is "default"
    if (match.exempt) return next();
    let rejected = false;
    try {
      const ip = clientKey(clientIp(req));
      let limit = limits[match.group];
      let key = `${match.group}:${ip}`;
      const apiKey = req.headers["x-api-key"];
      if (typeof apiKey === "string" && match.group !== "auth") {
        // Cached lookups; an unknown key (or a failed lookup) is simply counted by IP, and the
        // authentication layer answers it.
        const cached = cachedRaisedLimit(apiKey, match.group, req.headers);
        const raised = cached !== false ? cached : await raisedLimit(apiKey, match.group, req.headers).catch((err: unknown) => {
          logger.warn("could not read a project's rate limits; counting by IP", { requestId: req.requestId, error: err as Error });
          return undefined;
        });
        if (raised) {
          limit = raised.limit;
          key = `${match.group}:project:${raised.projectId}:${ip}`;
        }
      }
      const hit = await counter.hit(key, match.cost, limit);
      const resetSeconds = Math.max(1, Math.ceil(hit.resetMs / 1000));
      res.setHeader("RateLimit-Limit", String(limit));
      res.setHeader("RateLimit-Remaining", String(Math.max(0, limit - hit.count)));
      res.setHeader("RateLimit-Reset", String(resetSeconds));
      if (hit.count > limit) {
        rejected = true;
        res.setHeader("Retry-After", String(resetSeconds));
        if (match.trpc) sendTrpcRateLimited(res, req.requestId, match.procedures, match.batch);
        else sendEnvelope(res, { statusCode: 429, message: DOMAIN_ERRORS.RATE_LIMITED.message, requestId: req.requestId });
      }
    } catch (err) {
      logger.error("rate limiter failed; request let through", { requestId: req.requestId, group: match.group, error: err as Error });
    }
    if (!rejected) next();
  };
}

/**
 * /trpc answers in tRPC's error shape (as every /trpc error does here, see trpc.ts errorFormatter),
 * one entry per call for a batch, so the dashboard's client reads TOO_MANY_REQUESTS.
 */
function sendTrpcRateLimited(res: Response, requestId: string, procedures: string[], batch: boolean): void {
  const { message } = DOMAIN_ERRORS.RATE_LIMITED;
  const entry = (path: string) => ({
    error: { message, code: TRPC_ERROR_CODES_BY_KEY.TOO_MANY_REQUESTS, data: { code: "TOO_MANY_REQUESTS", httpStatus: 429, path, requestId } },
  });
  res.statusCode = 429;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.end(JSON.stringify(batch ? procedures.map(entry) : entry(procedures[0] ?? "")));
}

/**
 * The counter key of a client address: IPv4-mapped IPv6 as IPv4, other IPv6 addresses by their
 * /64 (one subscriber line owns a whole /64, so single addresses would be free to rotate).
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return "unknown";
  if (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4) return ip.slice(7);
  if (isIP(ip) !== 6) return ip;
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

import { peekClaims } from "@reachbell/auth";
import { contractEntries, publishableMay } from "@reachbell/contract";
import type { Database } from "@reachbell/db";
import cors from "cors";
import type { RequestHandler } from "express";
import type { ApiKeyVerifier } from "../auth/api-key-verifier";
import type { Logger } from "../logger";
import { parseOrigins } from "../services/partners";

/** Request headers a browser may send (preflight `Access-Control-Allow-Headers`). */
export const CORS_ALLOWED_HEADERS = ["authorization", "content-type", "x-org-id", "reach-tenant-id", "x-api-key", "idempotency-key"];
/** Response headers a browser script may read. */
export const CORS_EXPOSED_HEADERS = ["x-request-id", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after", "idempotent-replayed"];

/** How long partner origins set with the CLI take to reach a running server, at most. */
const PARTNER_ORIGINS_TTL_MS = 30_000;

/**
 * Origins partners allowed for their tenant tokens (`reachbell partner set-origins`), read from the
 * database at most every 30 s. A failed refresh keeps the previous answer.
 */
export class PartnerOrigins {
  private byOrigin = new Map<string, Set<string>>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async partnersFor(origin: string): Promise<ReadonlySet<string> | undefined> {
    if (this.now() - this.loadedAt > PARTNER_ORIGINS_TTL_MS) {
      this.loading ??= this.load().finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
    return this.byOrigin.get(origin);
  }

  private async load(): Promise<void> {
    try {
      const rows = await this.database.db.selectFrom("partners").select(["id", "allowedOrigins"]).where("allowedOrigins", "is not", null).execute();
      const map = new Map<string, Set<string>>();
      for (const row of rows) {
        for (const origin of parseOrigins(row.allowedOrigins)) {
          let set = map.get(origin);
          if (!set) map.set(origin, (set = new Set()));
          set.add(row.id);
        }
      }
      this.byOrigin = map;
      this.loadedAt = this.now();
    } catch (e) {
      this.logger.warn("could not read partner CORS origins", { error: (e as Error).message });
    }
  }
}

/** `(method, path)` → whether a publishable key may call that REST route (the contract's `publishable` rule). */
function publishableRoutes(): (method: string, url: string) => boolean {
  const routes = contractEntries()
    .filter(([, d]) => publishableMay(d.meta.auth))
    .map(([, d]) => ({ method: d.meta.rest.method, path: new RegExp(`^${d.meta.rest.path.replace(/\{\w+\}/g, "[^/]+")}/?$`, "i") }));
  return (method, url) => {
    const path = url.split("?")[0]!;
    return routes.some((r) => r.method === method && r.path.test(path));
  };
}

/**
 * CORS, closed by default: a response carries CORS headers only for an allowed origin.
 * - `CORS_ORIGINS` (global): any route.
 * - A partner's origins: requests bearing that partner's partner or tenant token; preflights (which
 *   carry no credentials) are answered for any partner's origin, and the real request then only gets
 *   CORS headers if its token belongs to a partner that allowed the origin. The token is only peeked
 *   at here to choose headers; it is verified, as always, by the auth middleware.
 * - A project's `allowedOrigins`: requests made with that project's publishable API key, on the
 *   routes a publishable key may call. A preflight carries no key, so the project is unknown then:
 *   preflights to those routes are answered for any origin, and the real request gets CORS headers
 *   only when its key is publishable and the origin is in its project's list (the auth guard refuses
 *   it with 403 otherwise, so even a client ignoring CORS gets nothing done). A key that is no key
 *   gets them too: its 401 says nothing about any project, and the page can show why it failed.
 */
export function corsMiddleware(globalOrigins: readonly string[], partnerOrigins: PartnerOrigins, apiKeys: ApiKeyVerifier): RequestHandler {
  const global = new Set(globalOrigins);
  const isPublishableRoute = publishableRoutes();
  const options: cors.CorsOptions = {
    methods: ["GET", "POST", "PATCH", "PUT", "DELETE"],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
    optionsSuccessStatus: 204,
  };
  const allowed = async (req: Parameters<RequestHandler>[0], origin: string): Promise<boolean> => {
    if (global.has(origin)) return true;
    const requested = req.headers["access-control-request-method"];
    const preflight = req.method === "OPTIONS" && requested !== undefined;
    if (isPublishableRoute(preflight ? String(requested).toUpperCase() : req.method, req.url)) {
      if (preflight) return true;
      const key = req.headers["x-api-key"];
      if (typeof key === "string") {
        const identity = await apiKeys.verify(key.trim(), { recordUse: false });
        if (identity === null) return true;
        if (identity.scope === "publishable") return identity.allowedOrigins.includes(origin);
      }
    }
    const partners = await partnerOrigins.partnersFor(origin);
    if (!partners) return false;
    if (preflight) return true;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const partnerId = m ? peekClaims(m[1]!)?.partnerId : undefined;
    return typeof partnerId === "string" && partners.has(partnerId);
  };
  const handler = cors((req, callback) => {
    const origin = req.headers.origin;
    if (!origin) return callback(null, { ...options, origin: false });
    allowed(req as Parameters<RequestHandler>[0], origin).then(
      (ok) => callback(null, { ...options, origin: ok }),
      (err: Error) => callback(err),
    );
  });
  return (req, res, next) => {
    // No Origin (servers, curl, same-origin GETs): cors would add nothing, so skip it.
    if (!req.headers.origin) return next();
    // The answer depends on the Origin header: shared caches must key on it.
    res.vary("Origin");
    handler(req, res, next);
  };
}

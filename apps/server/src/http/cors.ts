import { peekClaims } from "@reachbell/auth";
import type { Database } from "@reachbell/db";
import cors from "cors";
import type { RequestHandler } from "express";
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

/**
 * CORS, closed by default: a response carries CORS headers only for an allowed origin.
 * - `CORS_ORIGINS` (global): any route.
 * - A partner's origins: requests bearing that partner's partner or tenant token; preflights (which
 *   carry no credentials) are answered for any partner's origin, and the real request then only gets
 *   CORS headers if its token belongs to a partner that allowed the origin. The token is only peeked
 *   at here to choose headers; it is verified, as always, by the auth middleware.
 */
export function corsMiddleware(globalOrigins: readonly string[], partnerOrigins: PartnerOrigins): RequestHandler {
  const global = new Set(globalOrigins);
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
    const partners = await partnerOrigins.partnersFor(origin);
    if (!partners) return false;
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
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

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PasswordHasher, SecretBox, hmacKey } from "@reachbell/auth";
import { contractEntries } from "@reachbell/contract";
import type { Database } from "@reachbell/db";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import type { TRPCError } from "@trpc/server";
import express, { type ErrorRequestHandler, type Express } from "express";
import { createOpenApiExpressMiddleware } from "trpc-to-openapi";
import type { Context, Deps } from "./context";
import type { Config } from "./env";
import { DOMAIN_ERRORS } from "@reachbell/contract";
import { ApiKeyVerifier } from "./auth/api-key-verifier";
import { type InvalidationBus, LocalInvalidationBus } from "./auth/invalidation-bus";
import { RedisInvalidationBus } from "./auth/redis-invalidation-bus";
import { createRateLimiter } from "./rate-limit";
import { RedisConnections } from "./redis";
import { DATABASE_RETRY_AFTER_SECONDS, DatabaseOutage } from "./db-outage";
import { createPushSender } from "@reachbell/push";
import { VapidSigners } from "./push/vapid-signers";
import { docsRouter } from "./http/docs";
import { removeApiPrefix } from "./http/api-prefix";
import { MAX_TRPC_BATCH_SIZE, pathRefusal, sendPathRefusal } from "./http/path-guard";
import { contextHeaders } from "./http/tenant-header";
import { decodingPathParams } from "./http/rest-path-params";
import { PartnerOrigins, corsMiddleware } from "./http/cors";
import { recordError, recordRestError, sendEnvelope } from "./http/envelope";
import { buildOpenApiDocument } from "./http/openapi";
import { clientIp } from "./http/client-ip";
import { newRequestId } from "./http/request-id";
import { answerClientError } from "./http/client-error";
import { campaignExport } from "./http/campaign-export";
import { sdkAssets } from "./http/sdk-assets";
import { dashboardAssets } from "./http/dashboard-assets";
import { withConnectionParams } from "./http/connection-params";
import { type Logger, createLogger } from "./logger";
import { appRouter } from "./routers";
import { createFanout } from "./campaigns/engine";

export interface CreateAppOptions {
  database: Database;
  config: Config;
  clock?: () => Date;
  logger?: Logger;
  /** Cross-instance invalidations (Redis when REDIS_URL is set); local by default. */
  bus?: InvalidationBus;
  /** false leaves the rate limiter out (benchmarks only: it measures what the limiter costs). */
  rateLimiting?: boolean;
  /** The dashboard's built files (default: apps/dashboard/dist of this workspace). */
  dashboardDir?: string;
}

export interface App {
  express: Express;
  deps: Deps;
  /** Flushes buffered state (API-key lastUsedAt) and stops timers; the caller closes the database. */
  close(): Promise<void>;
  /** Starts listening (port 0 → a free port); resolves with the base URL. */
  listen(port?: number, host?: string): Promise<{ server: Server; url: string }>;
}

const successStatusByPath = new Map(contractEntries().map(([path, def]) => [path, def.meta.successStatus]));

/** Builds the whole HTTP app without listening, so tests can start it on port 0. */
export function createApp(opts: CreateAppOptions): App {
  const { database, config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? (() => new Date());
  // REDIS_URL: shared rate-limit counters and invalidations between instances (never required to answer).
  const redis = config.redisUrl ? new RedisConnections(config.redisUrl, config.redisKeyPrefix, logger, { commandTimeoutMs: config.redisCommandTimeoutMs }) : undefined;
  // The database being unreachable: 503 + Retry-After per request (errors.ts), logged once per outage here.
  const outage = new DatabaseOutage(database, logger);
  const bus = opts.bus ?? (redis ? new RedisInvalidationBus(redis, logger) : new LocalInvalidationBus());
  const secrets = new SecretBox(config.encryptionKey);
  const base: Omit<Deps, "fanout"> = {
    database,
    config,
    logger,
    clock,
    hasher: new PasswordHasher(),
    jwtKey: hmacKey(config.jwtSecret),
    secrets,
    bus,
    apiKeys: new ApiKeyVerifier(database, bus, clock),
    push: {
      sender: createPushSender({ allowInsecure: config.pushAllowInsecureEndpoints }),
      vapid: new VapidSigners({ secrets, config, bus }),
    },
  };
  const deps: Deps = { ...base, fanout: createFanout(base) };

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  const cors = corsMiddleware(config.corsOrigins, new PartnerOrigins(database, logger), deps.apiKeys);
  const accessLog = logger.isLevelEnabled?.("info") ?? true;
  // One access-log line per request: ids, route and outcome only (never headers, query or body).
  const logRequest = (req: express.Request, res: express.Response) => {
    const started = process.hrtime.bigint();
    const path = req.originalUrl.split("?")[0];
    res.once("finish", () => {
      const durationMs = Number((process.hrtime.bigint() - started) / 1000n) / 1000;
      logger.info("request", { requestId: req.requestId, method: req.method, path, status: res.statusCode, durationMs });
    });
  };
  const createContext = ({ req }: { req: express.Request; res: express.Response }): Context => ({
    deps,
    requestId: req.requestId,
    headers: contextHeaders(req), // reach-tenant-id percent-decoded
    ip: clientIp(req) ?? "unknown",
    responseHeaders: {},
  });
  const responseMeta = ({ ctx, paths, errors }: { ctx?: Context; paths?: readonly string[]; errors: readonly unknown[] }) => {
    if (errors.length > 0) return {};
    const status = paths?.length === 1 ? successStatusByPath.get(paths[0]!) : undefined;
    return { status: status ?? 200, headers: ctx?.responseHeaders ?? {} };
  };

  // Plain Express routes (health, document, docs, tRPC) on a router entered only when the path may
  // be one of theirs, so REST calls do not try each route first.
  const side = express.Router();
  side.get("/healthz", async (req, res) => {
    // ping() is bounded (DB_HEALTH_TIMEOUT_MS on PostgreSQL): an unreachable database is a prompt 503.
    const database_ok = await database.ping().catch(() => false);
    outage.record(database_ok);
    if (!database_ok) {
      sendEnvelope(res, { statusCode: 503, message: "Database unreachable", requestId: req.requestId }, { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) });
      return;
    }
    res.json({ status: "ok", database: "ok" });
  });

  let openApiDoc: Record<string, any> | undefined;
  side.get("/openapi.json", (_req, res) => {
    openApiDoc ??= buildOpenApiDocument();
    res.json(openApiDoc);
  });
  side.use(docsRouter());
  side.use(sdkAssets({ logger }));
  side.use(dashboardAssets({ logger, dir: opts.dashboardDir }));

  // tRPC for the dashboard. Before the JSON parser: tRPC reads its own bodies.
  side.use(
    "/trpc",
    createExpressMiddleware({
      router: appRouter,
      // Subscriptions may carry the dashboard's credential as connectionParams (EventSource sends no headers).
      createContext: ({ req, res, info }) => ({ ...createContext({ req, res }), headers: withConnectionParams(contextHeaders(req), info) }),
      responseMeta: ({ ctx }) => ({ headers: ctx?.responseHeaders ?? {} }),
      onError: ({ error, req, path }) => {
        outage.observe(error);
        recordError(logger, req, error, path);
      },
      maxBodySize: config.bodyLimitBytes,
      // Also refused earlier, before counting (http/path-guard.ts); this is the adapter's own bound.
      maxBatchSize: MAX_TRPC_BATCH_SIZE,
    }),
  );
  // A superset of the side routes' paths (Express matches them case-insensitively; an absolute-form
  // request target is matched by its path, so anything not starting with "/" goes through too).
  const SIDE_PATHS = /^\/(healthz|openapi\.json|docs|trpc|sdk\/|app(\/|$|\?))/i;

  // REST for integrators. express.json runs first so `application/json; charset=utf-8` bodies are read.
  const json = express.json({ limit: config.bodyLimitBytes, type: ["application/json", "application/*+json"] });
  const rest = createOpenApiExpressMiddleware({
    // Path parameters percent-decoded, after routing (trpc-to-openapi passes them encoded).
    router: decodingPathParams(appRouter),
    createContext,
    responseMeta,
    onError: ({ error, req, path }: { error: TRPCError; req: express.Request; path?: string }) => {
      outage.observe(error);
      recordRestError(logger, req, error, path);
    },
    maxBodySize: config.bodyLimitBytes,
  });
  const restChain = (req: express.Request, res: express.Response, next: express.NextFunction) => {
    // No body (what type-is checks: neither Content-Length nor Transfer-Encoding): nothing for the
    // JSON parser to do but set req.body, so do that here and skip it.
    if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) {
      if (!("body" in (req as object))) req.body = undefined;
      rest(req, res).catch(next);
      return;
    }
    json(req, res, (err?: unknown) => {
      if (err) return next(err);
      // Strict mode already refuses `null`, `"x"` and `5`; an array passes it, and trpc-to-openapi
      // would read `[]` as `{}`. Every REST body is an object: refuse it as the others are.
      if (Array.isArray(req.body)) {
        sendEnvelope(res, { statusCode: DOMAIN_ERRORS.MALFORMED_JSON.status, message: DOMAIN_ERRORS.MALFORMED_JSON.message, requestId: req.requestId });
        return;
      }
      rest(req, res).catch(next);
    });
  };
  // The CSV export streams from its own handler (behind the same guard), ahead of the REST middleware.
  const exportCsv = campaignExport((req, res) => createContext({ req, res }), logger);
  const route = (req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (req.url[0] !== "/" || SIDE_PATHS.test(req.url)) side(req, res, (err?: unknown) => (err ? next(err) : restChain(req, res, next)));
    else exportCsv(req, res, (err?: unknown) => (err ? next(err) : restChain(req, res, next)));
  };

  // Before everything that does work (tRPC, body parsing, REST): a rejected request does none.
  const limiter = opts.rateLimiting !== false ? createRateLimiter({ config, database, bus, apiKeys: deps.apiKeys, logger, redis }) : undefined;

  // Every request, in this order: the /api alias, the request id, CORS, the access-log hook, the rate
  // limiter, then the routes. One Express layer rather than six: each layer costs a dispatch, and
  // this runs on every call.
  app.use((req, res, next) => {
    // Dot segments, backslashes, extra tRPC segments, oversized batches: decided on the target as
    // sent, before the /api alias is removed (that parses it), and answered before anything routes it.
    const refusal = pathRefusal(req.url);
    removeApiPrefix(req);
    req.requestId = newRequestId();
    res.setHeader("x-request-id", req.requestId);
    // CORS before the rate limiter: preflights are answered without counting, and a 429 is readable by the page.
    cors(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (accessLog) logRequest(req, res);
      // A refused path is still counted, in the group of what it would have reached (so spellings of
      // /auth/login count as logins); an oversized tRPC batch is refused before: it is not charged.
      const proceed = refusal ? () => sendPathRefusal(res, refusal, req.requestId) : () => route(req, res, next);
      if (!limiter || refusal === "trpc-batch-too-large") return proceed();
      limiter(req, res, proceed).catch(next);
    });
  });

  // Errors raised before tRPC (malformed JSON, body too large, static files) get the envelope too.
  const onExpressError: ErrorRequestHandler = (err, req, res, _next) => {
    // E.g. a database lookup of a middleware (CORS partner origins) while the database is unreachable.
    if (outage.observe(err)) {
      const { status: statusCode, message } = DOMAIN_ERRORS.SERVICE_UNAVAILABLE;
      sendEnvelope(res, { statusCode, message, requestId: req.requestId }, { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) });
      return;
    }
    const type = (err as { type?: string }).type;
    const status = (err as { status?: number }).status ?? 500;
    const def =
      type === "entity.parse.failed"
        ? DOMAIN_ERRORS.MALFORMED_JSON
        : type === "entity.too.large"
          ? DOMAIN_ERRORS.PAYLOAD_TOO_LARGE
          : type === "encoding.unsupported" || type === "charset.unsupported"
            ? DOMAIN_ERRORS.UNSUPPORTED_MEDIA_TYPE
            : status === 404
              ? DOMAIN_ERRORS.ROUTE_NOT_FOUND
              : status >= 400 && status < 500
                ? DOMAIN_ERRORS.BAD_REQUEST
                : DOMAIN_ERRORS.INTERNAL;
    if (def === DOMAIN_ERRORS.INTERNAL) logger.error("request failed", { requestId: req.requestId, error: { name: err?.name, message: String(err?.message).slice(0, 300) } });
    sendEnvelope(res, { statusCode: def.status, message: def.message, requestId: req.requestId });
  };
  app.use(onExpressError);

  return {
    express: app,
    deps,
    async close() {
      outage.close();
      await deps.apiKeys.close();
      deps.push.sender.close();
      await bus.close();
      await redis?.close();
    },
    async listen(port = config.port, host = config.host) {
      if (redis && !(await redis.waitReady(3000))) logger.warn("redis is not reachable yet: starting with per-process rate limits until it is");
      return new Promise((resolve, reject) => {
        // Express 5 calls this with the listen error (a busy port) as well: "error" below answers that.
        const server = app.listen(port, host, (err?: Error) => {
          if (err) return;
          const addr = server.address() as AddressInfo;
          const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
          resolve({ server, url: `http://${h === "0.0.0.0" ? "127.0.0.1" : h}:${addr.port}` });
        });
        server.on("error", reject);
        server.on("clientError", answerClientError);
      });
    },
  };
}

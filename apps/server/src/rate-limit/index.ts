import type { Database } from "@reachbell/db";
import type { ApiKeyVerifier } from "../auth/api-key-verifier";
import type { InvalidationBus } from "../auth/invalidation-bus";
import type { Config } from "../env";
import type { Logger } from "../logger";
import type { RedisConnections } from "../redis";
import { GroupResolver } from "./groups";
import { RequestCounter } from "./limiter";
import { rateLimitMiddleware } from "./middleware";
import { ProjectLimits } from "./project-limits";

export { GroupResolver } from "./groups";
export { RequestCounter } from "./limiter";
export { clientKey, rateLimitMiddleware } from "./middleware";
export { ProjectLimits, parseProjectRateLimits } from "./project-limits";

/** The rate-limit middleware of one app: Redis-backed counters when `redis` is given, memory otherwise. */
export function createRateLimiter(opts: {
  config: Config;
  database: Database;
  bus: InvalidationBus;
  apiKeys: ApiKeyVerifier;
  logger: Logger;
  redis?: RedisConnections | undefined;
  windowSeconds?: number;
}) {
  const { config, database, bus, apiKeys, logger, redis } = opts;
  return rateLimitMiddleware({
    limits: config.rateLimits,
    groups: new GroupResolver(),
    counter: new RequestCounter({ redis: redis?.command, keyPrefix: config.redisKeyPrefix, windowSeconds: opts.windowSeconds }),
    apiKeys,
    projectLimits: new ProjectLimits(database, bus, logger),
    logger,
  });
}

import { type ProjectRateLimits, projectRateLimitsSchema } from "@reachbell/contract";
import { type Database, createDb, migrateToLatest } from "@reachbell/db";
import { type InvalidationBus, LocalInvalidationBus } from "../auth/invalidation-bus";
import { RedisInvalidationBus } from "../auth/redis-invalidation-bus";
import type { Config } from "../env";
import { createLogger } from "../logger";
import { RedisConnections } from "../redis";
import { parseProjectRateLimits } from "./project-limits";

export class RateLimitChangeError extends Error {}

/**
 * Sets a project's raised limits (`projects.rate_limits`): the given groups are replaced, the others
 * kept, unless `clear` (then only the given ones remain; none → back to the server's limits).
 * Publishes `{kind: "project"}` so every instance re-reads them on its next request.
 */
export async function setProjectRateLimits(
  deps: { database: Database; bus: InvalidationBus; clock?: () => Date },
  projectId: string,
  change: Partial<Record<keyof ProjectRateLimits, number>>,
  opts: { clear?: boolean } = {},
): Promise<{ projectId: string; rateLimits: ProjectRateLimits | null }> {
  const { database, bus } = deps;
  const project = await database.db.selectFrom("projects").select(["id", "rateLimits"]).where("id", "=", projectId).executeTakeFirst();
  if (!project) throw new RateLimitChangeError(`no project ${projectId}`);
  const parsed = projectRateLimitsSchema.safeParse({ ...(opts.clear ? {} : parseProjectRateLimits(project.rateLimits)), ...change });
  if (!parsed.success) throw new RateLimitChangeError(parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; "));
  const rateLimits = Object.keys(parsed.data).length > 0 ? parsed.data : null;
  await database.db
    .updateTable("projects")
    .set({ rateLimits: rateLimits ? JSON.stringify(rateLimits) : null, updatedAt: (deps.clock?.() ?? new Date()).toISOString() })
    .where("id", "=", project.id)
    .execute();
  await bus.publish({ kind: "project", projectId: project.id });
  return { projectId: project.id, rateLimits };
}

/**
 * The operator command (`reachbell project set-rate-limits`): same environment as the server. With
 * REDIS_URL the change reaches running servers at once; otherwise within their 60 s cache lifetime.
 */
export async function setProjectRateLimitsCommand(
  config: Config,
  projectId: string,
  change: Partial<Record<keyof ProjectRateLimits, number>>,
  opts: { clear?: boolean } = {},
): Promise<{ projectId: string; rateLimits: ProjectRateLimits | null; propagation: "published" | "cache-expiry" }> {
  const database = createDb(config.databaseUrl);
  const logger = createLogger("error", (l) => process.stderr.write(l));
  const redis = config.redisUrl ? new RedisConnections(config.redisUrl, config.redisKeyPrefix, logger) : undefined;
  try {
    await migrateToLatest(database.db, database.dialect);
    const published = redis ? await redis.waitReady(3000) : false;
    const bus = redis && published ? new RedisInvalidationBus(redis, logger) : new LocalInvalidationBus();
    const result = await setProjectRateLimits({ database, bus }, projectId, change, opts);
    return { ...result, propagation: published ? "published" : "cache-expiry" };
  } finally {
    await redis?.close();
    await database.destroy();
  }
}

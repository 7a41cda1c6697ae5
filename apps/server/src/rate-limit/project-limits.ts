import { type ProjectRateLimits, projectRateLimitsSchema } from "@reachbell/contract";
import type { Database } from "@reachbell/db";
import type { InvalidationBus } from "../auth/invalidation-bus";
import { InvalidatedCache } from "../invalidated-cache";
import type { Logger } from "../logger";

/** Reads `projects.rate_limits` JSON; anything unreadable counts as "no raised limits". */
export function parseProjectRateLimits(raw: string | null | undefined): ProjectRateLimits | null {
  if (!raw) return null;
  try {
    const parsed = projectRateLimitsSchema.safeParse(JSON.parse(raw));
    return parsed.success && Object.keys(parsed.data).length > 0 ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * A project's raised rate limits, cached per project for `ttlMs`. Changing them publishes
 * `{kind: "project"}` on the invalidation bus (the CLI does), which drops the entry on every
 * instance; the TTL bounds staleness when the bus is unavailable.
 */
export class ProjectLimits {
  private readonly cache: InvalidatedCache<string, ProjectRateLimits | null>;

  constructor(
    private readonly database: Database,
    bus: InvalidationBus,
    private readonly logger: Logger,
    opts: { ttlMs?: number; maxEntries?: number } = {},
  ) {
    const cache = new InvalidatedCache<string, ProjectRateLimits | null>({ ttlMs: opts.ttlMs ?? 60_000, maxEntries: opts.maxEntries ?? 50_000 });
    this.cache = cache;
    bus.subscribe((m) => {
      if (m.kind === "project") cache.invalidate({ key: m.projectId });
      if (m.kind === "all") cache.invalidate();
    });
  }

  /** The cached limits without waiting: `undefined` when only `get` can tell. */
  cached(projectId: string): ProjectRateLimits | null | undefined {
    return this.cache.get(projectId, Date.now())?.value;
  }

  async get(projectId: string): Promise<ProjectRateLimits | null> {
    const now = Date.now();
    const hit = this.cache.get(projectId, now);
    if (hit) return hit.value;
    const generation = this.cache.generation;
    const row = await this.database.db.selectFrom("projects").select("rateLimits").where("id", "=", projectId).executeTakeFirst();
    const limits = parseProjectRateLimits(row?.rateLimits);
    if (row?.rateLimits && !limits) this.logger.warn("ignoring unreadable projects.rate_limits", { projectId });
    this.cache.set(projectId, limits, now, generation);
    return limits;
  }
}

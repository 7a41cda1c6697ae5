import { type ProjectRateLimits, projectRateLimitsSchema } from "@reachbell/contract";
import type { Database } from "@reachbell/db";
import type { InvalidationBus } from "../auth/invalidation-bus";
import type { Logger } from "../logger";

interface Entry {
  limits: ProjectRateLimits | null;
  expiresAt: number;
}

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
  private readonly cache = new Map<string, Entry>();
  /** Bumped by every invalidation: a read that started before one is not cached. */
  private epoch = 0;

  constructor(
    private readonly database: Database,
    bus: InvalidationBus,
    private readonly logger: Logger,
    private readonly opts: { ttlMs?: number; maxEntries?: number } = {},
  ) {
    bus.subscribe((m) => {
      this.epoch++;
      if (m.kind === "project") this.cache.delete(m.projectId);
      if (m.kind === "all") this.cache.clear();
    });
  }

  /** The cached limits without waiting: `undefined` when only `get` can tell. */
  cached(projectId: string): ProjectRateLimits | null | undefined {
    const hit = this.cache.get(projectId);
    return hit && hit.expiresAt > Date.now() ? hit.limits : undefined;
  }

  async get(projectId: string): Promise<ProjectRateLimits | null> {
    const now = Date.now();
    const hit = this.cache.get(projectId);
    if (hit && hit.expiresAt > now) return hit.limits;
    const epoch = this.epoch;
    const row = await this.database.db.selectFrom("projects").select("rateLimits").where("id", "=", projectId).executeTakeFirst();
    const limits = parseProjectRateLimits(row?.rateLimits);
    if (row?.rateLimits && !limits) this.logger.warn("ignoring unreadable projects.rate_limits", { projectId });
    if (epoch === this.epoch) {
      if (this.cache.size >= (this.opts.maxEntries ?? 50_000)) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(projectId, { limits, expiresAt: now + (this.opts.ttlMs ?? 60_000) });
    }
    return limits;
  }
}

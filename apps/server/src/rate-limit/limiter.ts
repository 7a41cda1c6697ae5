import type { Redis } from "ioredis";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

/** The state of one counter after a request was counted. */
export interface Hit {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends and the counter starts again. */
  resetMs: number;
}

export interface CounterOptions {
  /** Shared counters in Redis; per-process memory when absent (and while Redis is unreachable). */
  redis?: Redis | undefined;
  /** Prefix of the Redis keys (`<prefix>rl:<group>:<ip>`). */
  keyPrefix?: string;
  /** Fixed window length; SPEC §6 says one minute. Tests shorten it. */
  windowSeconds?: number;
}

// The counters only count: whether a request is over its limit is decided by the caller, because the
// limit of one key can differ by project (raised limits) while the counting is the same.
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * Fixed-window request counters on rate-limiter-flexible: RateLimiterRedis when Redis is configured,
 * with a RateLimiterMemory insurance limiter that takes over while Redis is unreachable (counters
 * are then per process), or RateLimiterMemory alone.
 *
 * A key found over its limit is remembered locally until its window ends, so a client that keeps
 * hammering is refused without another Redis round trip (the shared counter is already past the
 * limit for that window on every instance).
 */
export class RequestCounter {
  private readonly limiter: RateLimiterAbstract;
  private readonly blocked = new Map<string, { until: number; limit: number }>();

  constructor(opts: CounterOptions = {}) {
    const duration = opts.windowSeconds ?? 60;
    const memory = new RateLimiterMemory({ points: UNBOUNDED, duration, keyPrefix: "rl" });
    this.limiter = opts.redis
      ? new RateLimiterRedis({
          storeClient: opts.redis,
          keyPrefix: `${opts.keyPrefix ?? "reachbell:"}rl`,
          points: UNBOUNDED,
          duration,
          // Straight to the insurance limiter while the connection is not ready, instead of trying.
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        })
      : memory;
  }

  /** Counts `cost` requests on `key`; while the key is known to be over `limit` this window, answers `blocked` without counting. */
  async hit(key: string, cost: number, limit: number): Promise<Hit & { blocked: boolean }> {
    const now = Date.now();
    const block = this.blocked.get(key);
    if (block !== undefined) {
      // Still blocked unless the window ended or the key's limit was raised since.
      if (block.until > now && limit <= block.limit) return { count: limit + 1, resetMs: block.until - now, blocked: true };
      this.blocked.delete(key);
    }
    let res: RateLimiterRes;
    try {
      res = await this.limiter.consume(key, cost);
    } catch (e) {
      if (e instanceof RateLimiterRes) res = e;
      else throw e;
    }
    const hit = { count: res.consumedPoints, resetMs: res.msBeforeNext > 0 ? res.msBeforeNext : 0, blocked: false };
    if (hit.count > limit && hit.resetMs > 0) this.block(key, now + hit.resetMs, limit);
    return hit;
  }

  private block(key: string, until: number, limit: number): void {
    if (this.blocked.size >= 10_000) {
      const now = Date.now();
      for (const [k, b] of this.blocked) if (b.until <= now) this.blocked.delete(k);
      if (this.blocked.size >= 10_000) this.blocked.delete(this.blocked.keys().next().value as string);
    }
    this.blocked.set(key, { until, limit });
  }
}

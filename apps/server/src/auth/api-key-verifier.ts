import { hashApiKey, looksLikeApiKey } from "@reachbell/auth";
import type { Database } from "@reachbell/db";
import type { ApiKeyScope } from "@reachbell/contract";
import { InvalidatedCache } from "../invalidated-cache";
import { parseOrigins } from "../services/partners";
import type { InvalidationBus } from "./invalidation-bus";

export interface ApiKeyIdentity {
  keyId: string;
  keyHash: string;
  projectId: string;
  orgId: string;
  environment: "live" | "sandbox";
  scope: ApiKeyScope;
  /** The project's browser origins (publishable keys are refused from any other Origin). */
  allowedOrigins: readonly string[];
}

/**
 * Verifies `x-api-key` without a database round trip per request.
 *
 * Correctness of the cache: only valid keys are cached, for `ttlMs`. Revoking a key (or deleting or
 * updating its project: the identity carries the project's allowed origins) publishes an invalidation on the bus, which applies it here at once and on
 * every other instance before its next request (Redis pub/sub when REDIS_URL is set); a lookup already in flight
 * does not cache what it read (see InvalidatedCache). The TTL is only a backstop for a missed message. `lastUsedAt` is collected in memory and written in one batch every
 * `usageFlushMs` and at shutdown, so a busy key costs no write per request.
 */
export class ApiKeyVerifier {
  private readonly cache: InvalidatedCache<string, ApiKeyIdentity>;
  /** keyId → last use (epoch ms), made ISO only when flushed. */
  private readonly lastUse = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Database,
    private readonly bus: InvalidationBus,
    private readonly clock: () => Date,
    opts: { ttlMs?: number; maxEntries?: number; usageFlushMs?: number } = {},
  ) {
    const cache = new InvalidatedCache<string, ApiKeyIdentity>({ ttlMs: opts.ttlMs ?? 60_000, maxEntries: opts.maxEntries ?? 100_000 });
    this.cache = cache;
    bus.subscribe((m) => {
      if (m.kind === "apiKey") cache.invalidate({ key: m.keyHash });
      if (m.kind === "all") cache.invalidate();
      if (m.kind === "project") cache.invalidate({ match: (identity) => identity.projectId === m.projectId });
      if (m.kind === "organization") cache.invalidate({ match: (identity) => identity.orgId === m.orgId });
    });
    this.flushTimer = setInterval(() => void this.flushUsage().catch(() => {}), opts.usageFlushMs ?? 30_000);
    this.flushTimer.unref();
  }

  /**
   * `recordUse: false` looks the key up without counting it as used (the rate limiter, which runs before a request is accepted).
   * `request` (the request's headers object) lets the limiter and the auth layer of one request hash the key once.
   * `fresh: true` reads the database whatever the cache holds (a write that found its project gone asks
   * whether the key itself still stands, before this instance has heard of the deletion).
   */
  async verify(rawKey: string, opts: { recordUse?: boolean; request?: object; fresh?: boolean } = {}): Promise<ApiKeyIdentity | null> {
    if (!looksLikeApiKey(rawKey)) return null;
    const keyHash = this.hashOf(rawKey, opts.request);
    const now = this.clock().getTime();
    let identity = opts.fresh ? undefined : this.cache.get(keyHash, now)?.value;
    if (!identity) {
      const generation = this.cache.generation;
      const row = await this.database.db
        .selectFrom("apiKeys")
        .innerJoin("projects", "projects.id", "apiKeys.projectId")
        .select(["apiKeys.id as keyId", "apiKeys.projectId", "apiKeys.scope", "projects.organizationId as orgId", "projects.environment", "projects.allowedOrigins"])
        .where("apiKeys.keyHash", "=", keyHash)
        .where("apiKeys.revokedAt", "is", null)
        .executeTakeFirst();
      // Only valid keys are cached; an unknown or revoked key is looked up again next time.
      if (!row) {
        if (opts.fresh) this.cache.invalidate({ key: keyHash });
        return null;
      }
      identity = {
        keyId: row.keyId,
        keyHash,
        projectId: row.projectId,
        orgId: row.orgId,
        environment: row.environment,
        scope: row.scope,
        allowedOrigins: parseOrigins(row.allowedOrigins),
      };
      this.cache.set(keyHash, identity, now, generation);
    }
    if (opts.recordUse !== false) this.lastUse.set(identity.keyId, now);
    return identity;
  }

  /**
   * The cached identity of a key without waiting (the rate limiter's fast path): the identity, `null`
   * when the key cannot be one, or `undefined` when only `verify` can tell (not cached or expired).
   */
  cached(rawKey: string, request?: object): ApiKeyIdentity | null | undefined {
    if (!looksLikeApiKey(rawKey)) return null;
    return this.cache.get(this.hashOf(rawKey, request), this.clock().getTime())?.value;
  }

  private readonly hashes = new WeakMap<object, { rawKey: string; keyHash: string }>();

  private hashOf(rawKey: string, request: object | undefined): string {
    const memo = request && this.hashes.get(request);
    if (memo && memo.rawKey === rawKey) return memo.keyHash;
    const keyHash = hashApiKey(rawKey);
    if (request) this.hashes.set(request, { rawKey, keyHash });
    return keyHash;
  }

  /** Call after revoking a key in the database: this instance and (through the bus) all others forget it. */
  async revoked(keyHash: string): Promise<void> {
    await this.bus.publish({ kind: "apiKey", keyHash }); // delivered here too (both buses apply locally first)
  }

  async projectDeleted(projectId: string): Promise<void> {
    await this.bus.publish({ kind: "project", projectId });
  }

  /** Call after deleting an organization: every key of every one of its projects is forgotten, on every instance, in one message. */
  async organizationDeleted(orgId: string): Promise<void> {
    await this.bus.publish({ kind: "organization", orgId });
  }

  /** Writes the collected lastUsedAt values (one update per key used since the last flush). */
  async flushUsage(): Promise<void> {
    if (this.lastUse.size === 0) return;
    const batch = [...this.lastUse];
    this.lastUse.clear();
    for (const [keyId, at] of batch) {
      await this.database.db.updateTable("apiKeys").set({ lastUsedAt: new Date(at).toISOString() }).where("id", "=", keyId).execute();
    }
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushUsage().catch(() => {});
  }
}

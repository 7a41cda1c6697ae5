/**
 * A bounded cache of rows read from the database, each kept for `ttlMs`, that invalidations (the bus)
 * drop at once. Invalidating also moves `generation` on: a read that started before an invalidation
 * may hold the very value it revoked, so `set` ignores values read under an older generation.
 * The TTL only bounds staleness when an invalidation is missed (Redis down).
 */
export class InvalidatedCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  private gen = 0;

  constructor(private readonly opts: { ttlMs: number; maxEntries: number }) {}

  /** Take before reading the database; pass to `set` with what was read. */
  get generation(): number {
    return this.gen;
  }

  /** The fresh entry for `key` (wrapped, so a cached `null` reads apart from a miss), or undefined. */
  get(key: K, now: number): { value: V } | undefined {
    const e = this.entries.get(key);
    return e && e.expiresAt > now ? e : undefined;
  }

  /** Caches `value` unless an invalidation happened since `generation` was taken. Oldest out when full. */
  set(key: K, value: V, now: number, generation: number): void {
    if (generation !== this.gen) return;
    if (this.entries.size >= this.opts.maxEntries && !this.entries.has(key)) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, expiresAt: now + this.opts.ttlMs });
  }

  /** Drops `key`, or every entry `match` selects, or (neither) everything. */
  invalidate(target?: { key: K } | { match: (value: V) => boolean }): void {
    this.gen++;
    if (!target) this.entries.clear();
    else if ("key" in target) this.entries.delete(target.key);
    else for (const [k, e] of this.entries) if (target.match(e.value)) this.entries.delete(k);
  }
}

/**
 * Carries "forget this cached credential" messages between server instances. In one process it is
 * local; with REDIS_URL it is Redis pub/sub (redis-invalidation-bus.ts), so a key revoked on one
 * instance is refused by every instance on its next request. `all` is emitted locally when the bus
 * reconnects after an outage, since messages may have been missed meanwhile: caches drop everything.
 */
export type Invalidation =
  | { kind: "apiKey"; keyHash: string }
  | { kind: "project"; projectId: string }
  /** The organization was deleted: everything cached under it (its projects' API keys) goes. */
  | { kind: "organization"; orgId: string }
  | { kind: "partner"; partnerId: string }
  | { kind: "all" };

export interface InvalidationBus {
  publish(message: Invalidation): Promise<void>;
  subscribe(handler: (message: Invalidation) => void): void;
  close(): Promise<void>;
}

export class LocalInvalidationBus implements InvalidationBus {
  private readonly handlers: ((m: Invalidation) => void)[] = [];
  async publish(message: Invalidation): Promise<void> {
    for (const h of this.handlers) h(message);
  }
  subscribe(handler: (message: Invalidation) => void): void {
    this.handlers.push(handler);
  }
  async close(): Promise<void> {}
}

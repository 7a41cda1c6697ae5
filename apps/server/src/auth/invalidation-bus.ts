/**
 * Carries "forget this cached credential" messages between server instances. In one process it is
 * local; with REDIS_URL it is Redis pub/sub (see rate-limit/redis wiring), so a key revoked on one
 * instance is refused by every instance on its next request.
 */
export type Invalidation = { kind: "apiKey"; keyHash: string } | { kind: "project"; projectId: string } | { kind: "partner"; partnerId: string };

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

import { randomBytes } from "node:crypto";
import type { Logger } from "../logger";
import type { RedisConnections } from "../redis";
import type { Invalidation, InvalidationBus } from "./invalidation-bus";

const KINDS = new Set(["apiKey", "project", "organization", "partner"]);

/**
 * Invalidations shared by every server process through Redis pub/sub on `<prefix>invalidate`.
 *
 * A message is applied locally at once, then published; each process ignores its own echo. When
 * Redis is unreachable, publishing logs and returns (the revocation is already in the database and
 * this process's cache), and other processes fall back on their cache lifetime; when the subscriber
 * reconnects after an outage it emits `{kind: "all"}` locally, because messages may have been missed.
 */
export class RedisInvalidationBus implements InvalidationBus {
  private readonly handlers: ((m: Invalidation) => void)[] = [];
  private readonly origin = randomBytes(8).toString("hex");
  private readonly channel: string;
  private everSubscribed = false;

  constructor(
    private readonly redis: RedisConnections,
    private readonly logger: Logger,
  ) {
    this.channel = `${redis.keyPrefix}invalidate`;
    const sub = redis.subscriber;
    sub.on("message", (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      const parsed = parse(raw);
      if (parsed && parsed.origin !== this.origin) this.deliver(parsed.message);
    });
    const subscribe = () => {
      sub.subscribe(this.channel).then(
        () => {
          if (this.everSubscribed) this.deliver({ kind: "all" });
          this.everSubscribed = true;
        },
        (err: Error) => this.logger.warn("redis subscribe failed; retrying on reconnect", { error: err }),
      );
    };
    sub.on("ready", subscribe);
    if (sub.status === "ready") subscribe();
  }

  async publish(message: Invalidation): Promise<void> {
    this.deliver(message);
    try {
      await this.redis.command.publish(this.channel, JSON.stringify({ origin: this.origin, message }));
    } catch (err) {
      this.logger.warn("could not publish an invalidation: other instances rely on their cache lifetime", { kind: message.kind, error: err as Error });
    }
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }

  private deliver(message: Invalidation): void {
    for (const h of this.handlers) {
      try {
        h(message);
      } catch (err) {
        this.logger.error("invalidation handler failed", { kind: message.kind, error: err as Error });
      }
    }
  }
}

function parse(raw: string): { origin: string; message: Invalidation } | undefined {
  try {
    const v = JSON.parse(raw) as { origin?: unknown; message?: { kind?: unknown } };
    if (typeof v.origin !== "string" || !v.message || typeof v.message.kind !== "string" || !KINDS.has(v.message.kind)) return undefined;
    return v as { origin: string; message: Invalidation };
  } catch {
    return undefined;
  }
}

import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger";

/**
 * The Redis connections of one server process (REDIS_URL): `command` for rate-limit counters and
 * publishing invalidations, `subscriber` for receiving them (a subscribed connection can do nothing else).
 *
 * Redis is an optimisation of a multi-instance deployment, never a dependency of a request: while it
 * is unreachable the server keeps answering (rate limits fall back to per-process counters, API-key
 * revocations from other instances wait for the cache lifetime). So no command is queued while
 * disconnected, none waits longer than COMMAND_TIMEOUT_MS, reconnection backs off to 5 s, and
 * connection errors are logged (once per outage), never thrown.
 */
export class RedisConnections {
  readonly command: Redis;
  readonly subscriber: Redis;
  private down = false;
  private closed = false;

  constructor(
    url: string,
    readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.command = this.connect(url, "command");
    this.subscriber = this.connect(url, "subscriber");
  }

  private connect(url: string, role: string): Redis {
    const client = new Redis(url, { ...OPTIONS });
    client.on("error", (err: Error) => this.markDown(role, err));
    client.on("close", () => this.markDown(role));
    client.on("ready", () => {
      if (this.down && this.command.status === "ready" && this.subscriber.status === "ready") {
        this.down = false;
        this.logger.info("redis reconnected: rate limits and invalidations are shared again");
      }
    });
    return client;
  }

  private markDown(role: string, err?: Error): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.logger.error("redis unreachable: rate limits fall back to per-process counters and API-key revocations from other instances wait for the cache lifetime (60 s)", {
      connection: role,
      ...(err ? { error: { name: err.name, message: err.message.slice(0, 200) } } : {}),
    });
  }

  /** Resolves when both connections are ready, or false after `timeoutMs` (the server starts anyway). */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const ready = (c: Redis) =>
      c.status === "ready" ? Promise.resolve() : new Promise<void>((resolve) => c.once("ready", () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ok = await Promise.race([Promise.all([ready(this.command), ready(this.subscriber)]).then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([quit(this.command), quit(this.subscriber)]);
  }
}

const COMMAND_TIMEOUT_MS = 500;

const OPTIONS: RedisOptions = {
  // Fail commands at once while disconnected (the caller falls back) instead of queueing them.
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  // Reconnect forever, backing off from 100 ms to 5 s.
  retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
};

async function quit(c: Redis): Promise<void> {
  if (c.status === "end") return;
  if (c.status !== "ready") {
    c.disconnect();
    return;
  }
  await Promise.race([c.quit().catch(() => c.disconnect()), new Promise((r) => setTimeout(r, 1000).unref())]);
  c.disconnect();
}

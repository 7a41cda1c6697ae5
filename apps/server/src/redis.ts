import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger";

/**
 * The Redis connections of one server process (REDIS_URL): `command` for rate-limit counters and
 * publishing invalidations, `subscriber` for receiving them (a subscribed connection can do nothing else).
 *
 * Redis is an optimisation of a multi-instance deployment, never a dependency of a request: while it
 * is unreachable the server keeps answering (rate limits fall back to per-process counters, API-key
 * revocations from other instances wait for the cache lifetime). So no command is queued while
 * disconnected, none waits longer than the command timeout (REDIS_COMMAND_TIMEOUT_MS, 500 ms by
 * default), reconnection backs off to 5 s, and connection errors are logged (once per outage), never thrown.
 *
 * A Redis that stops answering without closing anything (a network partition) is an outage too: a
 * connection that has commands waiting and receives nothing for the command timeout is closed
 * (ioredis `socketTimeout`), which logs the outage and sends callers straight to their fall-back
 * (the rate limiter skips a connection that is not ready) until it reconnects. Only the requests
 * already waiting when it happens pay the timeout; the subscriber is checked at the same moment.
 */
export class RedisConnections {
  readonly command: Redis;
  readonly subscriber: Redis;
  private down = false;
  private closed = false;

  private readonly options: RedisOptions;

  constructor(
    url: string,
    readonly keyPrefix: string,
    private readonly logger: Logger,
    opts: { commandTimeoutMs?: number } = {},
  ) {
    const timeout = opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    this.options = { ...OPTIONS, commandTimeout: timeout, socketTimeout: timeout };
    this.command = this.connect(url, "command");
    this.subscriber = this.connect(url, "subscriber");
  }

  private connect(url: string, role: string): Redis {
    const client = new Redis(url, { ...this.options });
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
    // A partition may have silenced the other connection too, unnoticed while it has nothing to
    // send (a subscriber never does): a PING makes its socket timeout apply, closing it if dead, so
    // it reconnects and resubscribes (the bus then drops its caches: messages may have been missed).
    for (const c of [this.command, this.subscriber]) if (c.status === "ready") c.ping().catch(() => {});
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
  // commandTimeout fails the one command; socketTimeout (set alongside it, same value) closes a
  // connection that has commands waiting and has received nothing for that long, so a silent Redis
  // is noticed as an outage instead of costing every later request the timeout too.
  commandTimeout: COMMAND_TIMEOUT_MS,
  // TCP connect only (a partition on connect); the ready check after it is bounded by socketTimeout.
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

import type { Database } from "@reachbell/db";
import type { Logger } from "./logger";

/** Seconds a client is told to wait (Retry-After) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

// Errors of the connection rather than of the query: from Node's sockets, pg, pg-pool and
// @reachbell/db's own read timeout (QueryTimeoutError, code ETIMEDOUT).
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

const MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect/, // waiting for a pooled connection
  /^Query read timeout/, // pg's query_timeout and @reachbell/db's
  /not queryable/, // "Client has encountered a connection error and is not queryable"
  /^Connection is closed/,
];

/**
 * SQLSTATE codes meaning the server cannot serve now: class 08 (connection exception), 57P01-57P05
 * (shutdown, cannot connect now, idle session timeout), 53300 (too many connections), 57014 when the
 * statement timeout cancelled it (the database did not answer in time).
 */
function unavailableSqlState(code: string, message: string): boolean {
  return code.startsWith("08") || /^57P0[1-5]$/.test(code) || code === "53300" || (code === "57014" && /statement timeout/.test(message));
}

/**
 * True when `error` (or one of its causes: tRPC and Kysely wrap what they throw) says the database
 * could not be reached or did not answer in time, as opposed to a fault of the query or the code.
 * The one place connection errors are recognised; such a request is answered 503 with Retry-After.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown } | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 6; depth++) {
    const code = typeof e.code === "string" ? e.code : "";
    const message = typeof e.message === "string" ? e.message : "";
    if (NETWORK_CODES.has(code) || unavailableSqlState(code, message)) return true;
    if (MESSAGES.some((m) => m.test(message))) return true;
    // Node's AggregateError from a connect to several addresses (e.g. localhost on ::1 and 127.0.0.1).
    if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * Whether the database is in an outage, logged once when one starts and once when it ends, never once
 * per request. Failures come from requests (`observe`) and the health check (`record`); while down, a
 * probe pings the database every `probeIntervalMs` until it answers, so the recovery is noticed (and
 * logged) even when no request arrives.
 */
export class DatabaseOutage {
  private since: number | undefined;
  private probe: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly opts: { probeIntervalMs?: number; clock?: () => number } = {},
  ) {}

  get down(): boolean {
    return this.since !== undefined;
  }

  /** Looks at a request's error: true (and the outage recorded) when it is the database being unavailable. */
  observe(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    this.failed(error);
    return true;
  }

  /** The result of a health check. */
  record(ok: boolean): void {
    if (ok) this.recovered();
    else this.failed(undefined);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.probe);
    this.probe = undefined;
  }

  private now(): number {
    return this.opts.clock?.() ?? Date.now();
  }

  private failed(error: unknown): void {
    if (this.since !== undefined || this.closed) return;
    this.since = this.now();
    const root = rootCause(error);
    this.logger.error("database unavailable: requests that need it are answered 503 until it is back", {
      database: this.database.description,
      ...(root ? { error: root } : {}),
    });
    this.probe = setInterval(() => void this.check(), this.opts.probeIntervalMs ?? 1000);
    this.probe.unref();
  }

  private recovered(): void {
    if (this.since === undefined) return;
    const downMs = this.now() - this.since;
    this.since = undefined;
    clearInterval(this.probe);
    this.probe = undefined;
    this.logger.info("database reachable again", { database: this.database.description, downMs });
  }

  private async check(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      if (await this.database.ping().catch(() => false)) this.recovered();
    } finally {
      this.probing = false;
    }
  }
}

/** Name, code and message of the deepest cause (never a stack or query text). */
function rootCause(error: unknown): Record<string, unknown> | undefined {
  let e = error;
  for (let depth = 0; depth < 6 && e instanceof Error && e.cause instanceof Error; depth++) e = e.cause;
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message.slice(0, 200), ...(typeof code === "string" ? { code } : {}) };
}

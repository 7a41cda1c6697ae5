// Sends built push requests over pooled keep-alive connections. A send never throws for
// network trouble: it resolves to a SendResult the retry policy can classify, because a
// fan-out to thousands of subscribers should not have to wrap every call in try/catch.
//
// The client is undici's dispatcher, not node:https: on the bench's keep-alive HTTPS sink it
// spent about half the CPU per request of node:http's ClientRequest (no per-request
// OutgoingMessage/IncomingMessage streams). One request is one small handler object, so no
// closures are allocated per message.
import type { IncomingHttpHeaders } from "node:http";
import { performance } from "node:perf_hooks";
import { Agent, type Dispatcher } from "undici";
import { checkEndpointUrl, createGuardedLookup, ForbiddenAddressError, type GuardedLookupOptions } from "./endpoint-guard";
import type { PushRequest } from "./request";

export type SendErrorCode =
  | "timeout"
  | "network"
  | "dns_failure"
  | "forbidden_address"
  | "insecure_scheme"
  | "invalid_url"
  | "closed";

export interface SendResult {
  /** HTTP status from the push service; null when no response arrived. */
  status: number | null;
  /** Response headers, lower-case names, repeated values joined with ", ". */
  headers: Record<string, string>;
  /** Response body as UTF-8, at most maxResponseBytes bytes. */
  body: string;
  bodyTruncated: boolean;
  /** From the send() call, including any wait for a pooled socket. */
  durationMs: number;
  error?: SendErrorCode;
  errorMessage?: string;
}

export interface PushSenderOptions {
  /** Development/testing only: allow http: endpoints and private/loopback addresses. */
  allowInsecure?: boolean;
  /**
   * Deadline per request from the moment it is written to a connected socket: sending and
   * the whole response. Opening a new connection (DNS, TCP, TLS) has the same limit on its
   * own. Time queued behind maxSocketsPerOrigin is not counted. Default 10 s.
   */
  timeoutMs?: number;
  userAgent?: string;
  /** Concurrent connections per origin. Default 50. */
  maxSocketsPerOrigin?: number;
  /** Response bytes kept (push services answer with small JSON/text). Default 64 KiB. */
  maxResponseBytes?: number;
  /** Resolver override for the guarded lookup (tests simulate hostile DNS with it). */
  resolve?: GuardedLookupOptions["resolve"];
}

export interface PushSender {
  send(request: PushRequest): Promise<SendResult>;
  /** Destroys pooled sockets; later sends resolve with error "closed". */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_SOCKETS = 50;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
// Idle pooled sockets are dropped after this; push services close idle connections anyway.
const IDLE_SOCKET_MS = 30_000;
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in raw) {
    const value = raw[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function errorCodeOf(err: unknown): SendErrorCode {
  if (err instanceof ForbiddenAddressError) return "forbidden_address";
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "ENODATA") return "dns_failure";
  if (code === "UND_ERR_CONNECT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return "timeout";
  if (code === "UND_ERR_DESTROYED" || code === "UND_ERR_CLOSED") return "closed";
  return "network";
}

function failure(started: number, error: SendErrorCode, errorMessage: string): SendResult {
  return { status: null, headers: {}, body: "", bodyTruncated: false, durationMs: elapsedSince(started), error, errorMessage };
}

function elapsedSince(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function onDeadline(exchange: Exchange): void {
  exchange.expire();
}

/** One request/response: the dispatcher's handler, resolving the send() promise exactly once. */
class Exchange implements Dispatcher.DispatchHandler {
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #status: number | null = null;
  #headers = NO_HEADERS;
  #chunks: Buffer[] = [];
  #received = 0;

  constructor(
    private readonly resolve: (r: SendResult) => void,
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly maxResponseBytes: number,
  ) {}

  // Called when the request is written to a connected socket, so time queued behind
  // maxSocketsPerOrigin is not counted (connecting has its own limit, see createPushSender).
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) return controller.abort(new Error("already settled"));
    this.#timer = setTimeout(onDeadline, this.timeoutMs, this);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#status = statusCode;
    this.#headers = flattenHeaders(headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const room = this.maxResponseBytes - this.#received;
    if (chunk.length > room) {
      this.#chunks.push(chunk.subarray(0, room));
      this.#received = this.maxResponseBytes;
      this.#finish(this.#answered(true));
      controller.abort(new Error("response body over maxResponseBytes")); // don't read (or keep) a socket flooding us
      return;
    }
    this.#chunks.push(chunk);
    this.#received += chunk.length;
  }

  onResponseEnd(): void {
    this.#finish(this.#answered(false));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // The status already arrived; a broken body doesn't change the service's answer.
    if (this.#status !== null) return this.#finish(this.#answered(true));
    this.#finish(failure(this.started, errorCodeOf(err), err.message));
  }

  expire(): void {
    if (this.#settled) return;
    this.#finish(this.#status !== null ? this.#answered(true) : failure(this.started, "timeout", `no response within ${this.timeoutMs} ms`));
    this.#controller?.abort(new Error("deadline exceeded"));
  }

  #answered(bodyTruncated: boolean): SendResult {
    const chunks = this.#chunks;
    return {
      status: this.#status,
      headers: this.#headers,
      body: chunks.length === 0 ? "" : chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"),
      bodyTruncated,
      durationMs: elapsedSince(this.started),
    };
  }

  #finish(result: SendResult): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.resolve(result);
  }
}

export function createPushSender(options: PushSenderOptions = {}): PushSender {
  const allowInsecure = options.allowInsecure === true;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const userAgent = options.userAgent;
  // The connector owns the lookup, so every new connection is vetted on the address it uses.
  // Connecting (DNS, TCP, TLS) is limited to timeoutMs too; TLS verification stays Node's default.
  const agent = new Agent({
    connections: options.maxSocketsPerOrigin ?? DEFAULT_MAX_SOCKETS,
    keepAliveTimeout: IDLE_SOCKET_MS,
    keepAliveMaxTimeout: IDLE_SOCKET_MS,
    connect: { lookup: createGuardedLookup({ allowInsecure, resolve: options.resolve }), timeout: timeoutMs },
  });
  let closed = false;

  function send(request: PushRequest): Promise<SendResult> {
    const started = performance.now();
    if (closed) return Promise.resolve(failure(started, "closed", "sender is closed"));
    const check = checkEndpointUrl(request.url, { allowInsecure });
    if (!check.ok) return Promise.resolve(failure(started, check.reason, check.message));
    const url = check.url;
    const headers = userAgent ? { ...request.headers, "User-Agent": userAgent } : request.headers;
    return new Promise<SendResult>((resolve) => {
      const exchange = new Exchange(resolve, started, timeoutMs, maxResponseBytes);
      // Redirects are never followed: the dispatcher has no redirect interceptor, so a 3xx is the result.
      try {
        agent.dispatch({ origin: url.origin, path: url.pathname + url.search, method: request.method, headers, body: request.body }, exchange);
      } catch (err) {
        resolve(failure(started, errorCodeOf(err), err instanceof Error ? err.message : String(err)));
      }
    });
  }

  return {
    send,
    close() {
      closed = true;
      agent.destroy().catch(() => {});
    },
  };
}

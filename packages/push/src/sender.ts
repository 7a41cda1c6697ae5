// Sends built push requests over pooled keep-alive connections. A send never throws for
// network trouble: it resolves to a SendResult the retry policy can classify, because a
// fan-out to thousands of subscribers should not have to wrap every call in try/catch.
import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
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
   * Deadline per request from the moment it gets a socket: DNS, connect, TLS, sending and
   * the whole response. Time queued behind maxSocketsPerOrigin is not counted. Default 10 s.
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

function flattenHeaders(raw: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function errorCodeOf(err: unknown): SendErrorCode {
  if (err instanceof ForbiddenAddressError) return "forbidden_address";
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "ENODATA") return "dns_failure";
  return "network";
}

export function createPushSender(options: PushSenderOptions = {}): PushSender {
  const allowInsecure = options.allowInsecure === true;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const maxSockets = options.maxSocketsPerOrigin ?? DEFAULT_MAX_SOCKETS;
  const lookup = createGuardedLookup({ allowInsecure, resolve: options.resolve });
  // The agents own the lookup, so every new connection is vetted on the address it uses.
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: IDLE_SOCKET_MS, lookup };
  const httpsAgent = new https.Agent(agentOptions);
  const httpAgent = new http.Agent(agentOptions);
  let closed = false;

  function send(request: PushRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    const failure = (error: SendErrorCode, errorMessage: string): SendResult => ({
      status: null,
      headers: {},
      body: "",
      bodyTruncated: false,
      durationMs: elapsed(),
      error,
      errorMessage,
    });
    if (closed) return Promise.resolve(failure("closed", "sender is closed"));
    const check = checkEndpointUrl(request.url, { allowInsecure });
    if (!check.ok) return Promise.resolve(failure(check.reason, check.message));

    const url = check.url;
    const secure = url.protocol === "https:";
    const headers: Record<string, string> = { ...request.headers };
    if (options.userAgent) headers["User-Agent"] = options.userAgent;

    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let response: { status: number; headers: Record<string, string> } | null = null;
      const chunks: Buffer[] = [];
      let received = 0;

      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const answered = (bodyTruncated: boolean): SendResult => ({
        status: response?.status ?? null,
        headers: response?.headers ?? {},
        body: Buffer.concat(chunks).toString("utf8"),
        bodyTruncated,
        durationMs: elapsed(),
      });

      // redirects are never followed: node's client doesn't, and a 3xx is returned as is.
      const req = (secure ? https : http).request(
        url,
        { method: request.method, headers, agent: secure ? httpsAgent : httpAgent, lookup },
        (res) => {
          response = { status: res.statusCode ?? 0, headers: flattenHeaders(res.headers) };
          res.on("data", (chunk: Buffer) => {
            if (settled) return;
            const room = maxResponseBytes - received;
            if (chunk.length > room) {
              chunks.push(chunk.subarray(0, room));
              received = maxResponseBytes;
              finish(answered(true));
              res.destroy(); // don't read (or keep) a socket flooding us
              return;
            }
            chunks.push(chunk);
            received += chunk.length;
          });
          res.on("end", () => finish(answered(false)));
          // The status already arrived; a broken body doesn't change the service's answer.
          res.on("error", () => finish(answered(true)));
          res.on("close", () => finish(answered(!res.complete)));
        },
      );
      // The deadline starts when the agent hands out a socket (DNS, connect, TLS, request,
      // response), so waiting in the pool queue behind maxSockets is not counted: a large
      // fan-out to one push service would otherwise time out requests never sent.
      req.once("socket", () => {
        if (settled) return;
        timer = setTimeout(() => {
          if (response) finish(answered(true));
          else finish(failure("timeout", `no response within ${timeoutMs} ms`));
          req.destroy();
        }, timeoutMs);
      });
      req.on("error", (err) => {
        if (response) return finish(answered(true));
        finish(failure(errorCodeOf(err), err.message));
      });
      req.end(request.body);
    });
  }

  return {
    send,
    close() {
      closed = true;
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

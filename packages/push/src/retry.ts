// Retry policy for push sends: what a push-service answer means for the subscription and
// whether another attempt can help. Bounded tightly (3 attempts, ≤ 2 s per wait, ≤ 5 s in
// all by default) because a send is part of an API call fan-out, not a background queue.
import type { PushRequest } from "./request";
import type { PushSender, SendErrorCode, SendResult } from "./sender";

/**
 * delivered: the push service accepted the message (2xx).
 * gone: 404/410, the subscription expired or was unsubscribed; delete it.
 * provider_error: the push service refused it (4xx, 3xx) or kept failing (429/5xx).
 * network_error: no answer (timeouts, resets, DNS) even after retries.
 * blocked: the endpoint was refused locally (SSRF guard, bad URL); never sent.
 */
export type PushOutcome = "delivered" | "gone" | "provider_error" | "network_error" | "blocked";

export type Verdict = { final: true; outcome: PushOutcome } | { final: false; retryAfterMs: number | null };

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); null if absent/invalid. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // All three HTTP-date forms spell the month; Date.parse alone also takes things like "-1".
  if (!/[A-Za-z]{3}/.test(text)) return null;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

const BLOCKED: ReadonlySet<SendErrorCode> = new Set<SendErrorCode>([
  "forbidden_address",
  "insecure_scheme",
  "invalid_url",
  "closed",
]);

/** Classifies one attempt. */
export function classifySendResult(result: SendResult, nowMs: number = Date.now()): Verdict {
  const { status } = result;
  if (status === null) {
    if (result.error && BLOCKED.has(result.error)) return { final: true, outcome: "blocked" };
    return { final: false, retryAfterMs: null };
  }
  if (status >= 200 && status < 300) return { final: true, outcome: "delivered" };
  if (status === 404 || status === 410) return { final: true, outcome: "gone" };
  if (status === 429 || status >= 500) return { final: false, retryAfterMs: parseRetryAfter(result.headers["retry-after"], nowMs) };
  // 400 (bad request), 413 (too large), 401/403 (VAPID), 3xx (no redirects) and the rest:
  // the same request would fail the same way.
  return { final: true, outcome: "provider_error" };
}

export interface RetryOptions {
  /** Including the first. Default 3. */
  maxAttempts?: number;
  /** Longest single wait. A Retry-After longer than this ends the retries. Default 2000. */
  maxWaitMs?: number;
  /** Budget for attempt durations plus waits; no new attempt starts past it. Default 5000. */
  maxTotalMs?: number;
  /** First backoff step without Retry-After; doubles each retry, with jitter. Default 250. */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

export interface AttemptRecord {
  status: number | null;
  error?: SendErrorCode;
  durationMs: number;
  /** Start of the attempt, ms since the epoch. */
  at: number;
  /** Wait before the next attempt, if there was one. */
  waitMs?: number;
}

export interface DeliveryResult {
  outcome: PushOutcome;
  /** Status of the last attempt. */
  status: number | null;
  error?: SendErrorCode;
  attempts: AttemptRecord[];
  /** Set when the push service asked for a longer pause than we wait; retry later. */
  retryAfterMs?: number;
  last: SendResult;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function sendWithRetry(
  sender: Pick<PushSender, "send">,
  request: PushRequest,
  options: RetryOptions = {},
): Promise<DeliveryResult> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const maxTotalMs = options.maxTotalMs ?? 5000;
  const baseDelayMs = options.baseDelayMs ?? 250;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const attempts: AttemptRecord[] = [];
  // Counted from durations and waits, not the clock, so an injected sleep counts too.
  let spentMs = 0;

  for (;;) {
    const at = now();
    const result = await sender.send(request);
    const record: AttemptRecord = { status: result.status, durationMs: result.durationMs, at };
    if (result.error) record.error = result.error;
    attempts.push(record);
    spentMs += result.durationMs;

    const verdict = classifySendResult(result, now());
    const done = (outcome: PushOutcome, retryAfterMs?: number): DeliveryResult => {
      const out: DeliveryResult = { outcome, status: result.status, attempts, last: result };
      if (result.error) out.error = result.error;
      if (retryAfterMs !== undefined) out.retryAfterMs = retryAfterMs;
      return out;
    };
    if (verdict.final) return done(verdict.outcome);

    const exhausted: PushOutcome = result.status === null ? "network_error" : "provider_error";
    if (verdict.retryAfterMs !== null && verdict.retryAfterMs > maxWaitMs) {
      return done(exhausted, verdict.retryAfterMs); // honour it: the caller can requeue
    }
    const step = baseDelayMs * 2 ** (attempts.length - 1);
    const waitMs = Math.round(verdict.retryAfterMs ?? Math.min(maxWaitMs, step / 2 + (random() * step) / 2));
    if (attempts.length >= maxAttempts || spentMs + waitMs > maxTotalMs) return done(exhausted);
    record.waitMs = waitMs;
    await sleep(waitMs);
    spentMs += waitMs;
  }
}

// Sending one claimed chunk: bounded concurrency, one attempt per recipient (a throttled push service
// never makes a sender wait: the row goes back to the queue with a not-before), and a per-origin pause
// remembered across chunks so one throttled push service does not slow the others down.

import type { Deps } from "../context";
import { assembleRequest, buildRequest, sendOnce } from "../push/deliver";
import type { ClaimedRecipient } from "./claim";
import type { CryptoPool } from "./crypto-pool";
import type { FinalOutcome, Requeue } from "./outcomes";
import type { CampaignRun } from "./run-context";

/** Per push-service origin: not before this instant (ms, on deps.clock) after a 429/5xx. In memory, per instance. */
export type OriginPauses = Map<string, number>;

const BASE_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 10 * 60_000;

/** Without Retry-After: 5 s, 10 s, 20 s, … capped at 10 min. */
export const backoffMs = (attemptsSoFar: number) => Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attemptsSoFar - 1));

function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return endpoint;
  }
}

export async function sendChunk(
  deps: Pick<Deps, "push" | "clock" | "config" | "logger">,
  run: CampaignRun,
  recipients: ClaimedRecipient[],
  pauses: OriginPauses,
  /** When given, payloads are encrypted on its worker threads (the whole chunk is started at once, in batches). */
  crypto?: CryptoPool | null,
): Promise<{ finals: FinalOutcome[]; requeues: Requeue[] }> {
  const finals: FinalOutcome[] = [];
  const requeues: Requeue[] = [];
  const maxAttempts = deps.config.fanout.maxAttempts;
  let next = 0;
  // Recipients of a paused origin are encrypted for nothing (they are re-queued below): cheaper than
  // holding the whole chunk back to decide first, and rare.
  const encrypted = crypto ? crypto.encryptAll(recipients.map((r) => ({ p256dh: r.p256dh, auth: r.auth, payload: r.payload }))) : null;

  const one = async (r: ClaimedRecipient, index: number) => {
    const origin = originOf(r.endpoint);
    const pausedUntil = pauses.get(origin);
    const nowMs = deps.clock().getTime();
    if (pausedUntil !== undefined && pausedUntil > nowMs) {
      requeues.push({ messageId: r.messageId, notBefore: new Date(pausedUntil).toISOString(), attempts: r.attempts });
      return;
    }
    const previous = JSON.parse(r.attempts) as unknown[];
    const started = Date.now();
    let request;
    try {
      if (encrypted) {
        const e = await encrypted(index);
        if (!e.ok) throw new Error(e.error);
        request = assembleRequest(deps, run.project, r, e.body, run.options);
      } else {
        request = buildRequest(deps, run.project, r, r.payload, run.options);
      }
    } catch (e) {
      // A stored subscription the push library refuses (corrupt keys): a provider-side failure, as in transactional sends.
      deps.logger.warn("push build failed", { messageId: r.messageId, error: e instanceof Error ? e.message : String(e) });
      finals.push({ messageId: r.messageId, subscriberId: r.subscriberId, status: "failed", reason: "provider_error", pushStatus: null, attempts: r.attempts, durationMs: 0, expireSubscriber: false });
      return;
    }
    if (run.mode === "sandbox") {
      finals.push({ messageId: r.messageId, subscriberId: r.subscriberId, status: "simulated", reason: null, pushStatus: null, attempts: r.attempts, durationMs: 0, expireSubscriber: false });
      return;
    }
    const result = await sendOnce(deps, request);
    const attempts = JSON.stringify([...previous, result.attempt]);
    const durationMs = Date.now() - started;
    if (result.final) {
      const status = result.status === "delivered" ? "delivered" : "failed";
      finals.push({ messageId: r.messageId, subscriberId: r.subscriberId, status, reason: result.reason, pushStatus: result.pushStatus, attempts, durationMs, expireSubscriber: result.deactivated });
      return;
    }
    if (previous.length + 1 >= maxAttempts) {
      finals.push({ messageId: r.messageId, subscriberId: r.subscriberId, status: "failed", reason: "provider_error", pushStatus: result.pushStatus, attempts, durationMs, expireSubscriber: false });
      return;
    }
    const waitMs = result.retryAfterMs ?? backoffMs(previous.length + 1);
    const until = deps.clock().getTime() + waitMs;
    // 429/5xx speak for the push service, not the subscription: hold the whole origin back.
    if (result.pushStatus !== null) pauses.set(origin, Math.max(pauses.get(origin) ?? 0, until));
    requeues.push({ messageId: r.messageId, notBefore: new Date(until).toISOString(), attempts });
  };

  const worker = async () => {
    while (next < recipients.length) {
      const i = next++;
      await one(recipients[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.config.fanout.sendConcurrency, recipients.length) }, worker));
  return { finals, requeues };
}

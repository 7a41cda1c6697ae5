// A project's delivery policy, and the two checks it drives. Pure functions: the clock comes in.

import type { DeliveryPolicy } from "@reachbell/contract";

export const NO_POLICY: DeliveryPolicy = { quietHours: null, frequencyCap: null };

/** Reads the JSON column defensively: anything malformed means "no rule". */
export function parseDeliveryPolicy(json: string | null | undefined): DeliveryPolicy {
  if (!json) return NO_POLICY;
  try {
    const raw = JSON.parse(json) as Partial<DeliveryPolicy>;
    const qh = raw.quietHours;
    const fc = raw.frequencyCap;
    return {
      quietHours: qh && typeof qh.start === "string" && typeof qh.end === "string" ? { start: qh.start, end: qh.end } : null,
      frequencyCap: fc && Number.isInteger(fc.max) && Number.isInteger(fc.windowSeconds) ? { max: fc.max, windowSeconds: fc.windowSeconds } : null,
    };
  } catch {
    return NO_POLICY;
  }
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** Minutes since local midnight at `now` in `timeZone` (falls back to UTC for an unknown zone). */
export function localMinutes(now: Date, timeZone: string): number {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(now);
  } catch {
    parts = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(now);
  }
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get("hour") * 60 + get("minute");
}

/** Quiet hours are [start, end) local time; a window whose start is after its end crosses midnight. */
export function inQuietHours(policy: DeliveryPolicy, now: Date, timeZone: string): boolean {
  const qh = policy.quietHours;
  if (!qh) return false;
  const start = minutesOf(qh.start);
  const end = minutesOf(qh.end);
  if (start === end) return false;
  const m = localMinutes(now, timeZone);
  return start < end ? m >= start && m < end : m >= start || m < end;
}

/**
 * When the quiet-hours window containing `now` ends (the first instant of its end minute, local time
 * in `timeZone`), or null when `now` is not in quiet hours. A campaign recipient deferred by quiet
 * hours is retried then. Computed from local minutes, so a DST change inside the window shifts the
 * end by the DST offset at most (the recipient is then re-checked and deferred again if needed).
 */
export function quietHoursEnd(policy: DeliveryPolicy, now: Date, timeZone: string): Date | null {
  if (!inQuietHours(policy, now, timeZone) || !policy.quietHours) return null;
  const end = minutesOf(policy.quietHours.end);
  const m = localMinutes(now, timeZone);
  const minutesLeft = (end - m + 1440) % 1440 || 1440;
  const startOfMinute = now.getTime() - (now.getTime() % 60_000);
  return new Date(startOfMinute + minutesLeft * 60_000);
}

/** The policy's verdict on one recipient, before any frequency-cap count (transactional and campaign sends alike). */
export type RecipientVerdict = { kind: "send" } | { kind: "unsubscribed" } | { kind: "quiet"; until: Date };

export function recipientVerdict(policy: DeliveryPolicy, subscriber: { status: string; timezone: string | null }, projectTimeZone: string, now: Date): RecipientVerdict {
  if (subscriber.status !== "active") return { kind: "unsubscribed" };
  const until = quietHoursEnd(policy, now, subscriber.timezone ?? projectTimeZone);
  return until ? { kind: "quiet", until } : { kind: "send" };
}

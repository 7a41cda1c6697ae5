// Wall-clock time in an IANA zone → the UTC instant, with Intl only (no timezone library).

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at instant `t` (ms), e.g. +3,600,000 for Paris in winter. */
export function zoneOffsetMs(zone: string, t: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(t))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** True when the fields name a real calendar date and time (no 30 February, no 24:00). */
export function isValidWallTime(w: WallTime): boolean {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond));
  return (
    d.getUTCFullYear() === w.year &&
    d.getUTCMonth() === w.month - 1 &&
    d.getUTCDate() === w.day &&
    d.getUTCHours() === w.hour &&
    d.getUTCMinutes() === w.minute &&
    d.getUTCSeconds() === w.second
  );
}

/**
 * The instant at which clocks in `zone` show `w`. Around DST changes it behaves like Temporal's
 * "compatible" disambiguation: a time that occurs twice (clocks turned back) is its first occurrence;
 * a time that never occurs (clocks jumped forward) is moved forward by the jump (02:30 → 03:30), so
 * a schedule in the gap still runs, just after it.
 */
export function wallTimeToUtc(w: WallTime, zone: string): Date {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  // The offsets in force a day either side cover any transition near this wall time.
  const before = zoneOffsetMs(zone, asUtc - 86_400_000);
  const after = zoneOffsetMs(zone, asUtc + 86_400_000);
  const shows = (t: number) => t + zoneOffsetMs(zone, t) === asUtc;
  const candidates = [asUtc - before, asUtc - after].filter(shows).sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]!);
  // In a gap: read with the offset in force before the jump, which lands after it.
  return new Date(asUtc - before);
}

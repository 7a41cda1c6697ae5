import { describe, expect, it } from "vitest";
import { isValidWallTime, wallTimeToUtc } from "../src/local-time";
import { parseSendAt } from "../src/services/campaigns";

// Wall time in an IANA zone → UTC, including both kinds of DST change.

const wall = (s: string) => {
  const [d, t] = s.split("T") as [string, string];
  const [year, month, day] = d.split("-").map(Number) as [number, number, number];
  const [hour, minute, second = 0] = t.split(":").map(Number) as [number, number, number?];
  return { year, month, day, hour, minute, second, millisecond: 0 };
};
const utc = (s: string, zone: string) => wallTimeToUtc(wall(s), zone).toISOString();

describe("wallTimeToUtc", () => {
  it("reads ordinary times with the zone's offset of that date", () => {
    expect(utc("2027-01-15T09:00", "Europe/Paris")).toBe("2027-01-15T08:00:00.000Z");
    expect(utc("2027-07-15T09:00", "Europe/Paris")).toBe("2027-07-15T07:00:00.000Z");
    expect(utc("2027-07-04T09:30", "America/New_York")).toBe("2027-07-04T13:30:00.000Z");
    expect(utc("2027-01-01T00:00", "Asia/Kolkata")).toBe("2026-12-31T18:30:00.000Z");
    expect(utc("2027-03-01T12:00", "UTC")).toBe("2027-03-01T12:00:00.000Z");
  });

  it("a time skipped by clocks jumping forward runs just after the jump", () => {
    // Paris, 2027-03-28: 02:00 CET → 03:00 CEST; 02:30 does not exist and becomes 03:30 CEST.
    expect(utc("2027-03-28T02:30", "Europe/Paris")).toBe("2027-03-28T01:30:00.000Z");
    expect(utc("2027-03-28T03:00", "Europe/Paris")).toBe("2027-03-28T01:00:00.000Z");
    // New York, 2027-03-14: 02:00 EST → 03:00 EDT.
    expect(utc("2027-03-14T02:15", "America/New_York")).toBe("2027-03-14T07:15:00.000Z");
  });

  it("a time that happens twice (clocks turned back) is its first occurrence", () => {
    // Paris, 2027-10-31: 03:00 CEST → 02:00 CET; 02:30 happens at 00:30Z and 01:30Z.
    expect(utc("2027-10-31T02:30", "Europe/Paris")).toBe("2027-10-31T00:30:00.000Z");
    // New York, 2027-11-07: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    expect(utc("2027-11-07T01:30", "America/New_York")).toBe("2027-11-07T05:30:00.000Z");
  });

  it("a zone with a half-hour DST shift (Lord Howe)", () => {
    expect(utc("2027-01-15T12:00", "Australia/Lord_Howe")).toBe("2027-01-15T01:00:00.000Z");
    expect(utc("2027-07-15T12:00", "Australia/Lord_Howe")).toBe("2027-07-15T01:30:00.000Z");
  });

  it("refuses dates that do not exist", () => {
    expect(isValidWallTime(wall("2027-02-29T10:00"))).toBe(false);
    expect(isValidWallTime(wall("2028-02-29T10:00"))).toBe(true);
    expect(isValidWallTime(wall("2027-04-31T10:00"))).toBe(false);
    expect(isValidWallTime(wall("2027-04-30T24:00"))).toBe(false);
  });
});

describe("parseSendAt", () => {
  it("an offset or Z wins over the zone; a local time is read in the zone", () => {
    expect(parseSendAt("2027-05-01T10:00:00Z", "Asia/Tokyo").toISOString()).toBe("2027-05-01T10:00:00.000Z");
    expect(parseSendAt("2027-05-01T10:00:00-04:00", "Asia/Tokyo").toISOString()).toBe("2027-05-01T14:00:00.000Z");
    expect(parseSendAt("2027-05-01T10:00", "Asia/Tokyo").toISOString()).toBe("2027-05-01T01:00:00.000Z");
    expect(parseSendAt("2027-05-01T10:00:00.5", "UTC").toISOString()).toBe("2027-05-01T10:00:00.500Z");
  });

  it("refuses an impossible date or offset, naming schedule.sendAt", () => {
    for (const bad of ["2027-02-30T10:00:00", "2027-02-30T10:00:00Z", "2027-05-01T10:00:00+25:00", "2027-05-01 10:00"]) {
      let err: any;
      try {
        parseSendAt(bad, "UTC");
      } catch (e) {
        err = e;
      }
      expect(err?.extra?.errors?.[0]?.path, bad).toBe("schedule.sendAt");
    }
  });
});

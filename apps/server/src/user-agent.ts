import UAParser from "ua-parser-js";

// Browser, OS and device type from a User-Agent string, with ua-parser-js 1.0.x (MIT; 2.x is AGPL).
// Subscribers of one site share few distinct user agents, so results are memoised (bounded).

export interface DerivedAgent {
  browser: string | null;
  os: string | null;
  deviceType: string | null;
}

const cache = new Map<string, DerivedAgent>();
const MAX_CACHED = 2_000;

export function parseUserAgent(ua: string | null | undefined): DerivedAgent {
  if (!ua) return { browser: null, os: null, deviceType: null };
  const hit = cache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const browser = r.browser.name ?? null;
  const os = r.os.name ?? null;
  // ua-parser only names non-desktop devices; a recognised browser or OS without one is a desktop.
  const deviceType = r.device.type ?? (browser || os ? "desktop" : null);
  const derived = { browser: clip(browser), os: clip(os), deviceType: clip(deviceType, 40) };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(ua, derived);
  return derived;
}

const clip = (v: string | null, max = 100) => (v === null ? null : v.slice(0, max));

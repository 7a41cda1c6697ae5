// SSRF protection for subscriber-supplied endpoint URLs. Endpoints come from untrusted
// browsers/clients, so without this a subscriber could make the server POST to
// 169.254.169.254 (cloud metadata), localhost admin ports or the private network.
//
// Two layers:
//  - checkEndpointUrl: scheme, credentials and IP-literal hosts (Node's net.connect skips
//    the lookup function entirely for IP literals, so they must be checked here);
//  - createGuardedLookup: a dns.lookup replacement given to the HTTP agent. The addresses
//    it vets are the ones the socket connects to, which closes the DNS-rebinding gap a
//    separate "resolve, check, then connect" would leave.
import dns from "node:dns";
import net from "node:net";

export type EndpointRefusal = "insecure_scheme" | "forbidden_address" | "invalid_url" | "dns_failure";

export type EndpointCheck = { ok: true; url: URL } | { ok: false; reason: EndpointRefusal; message: string };

export interface EndpointGuardOptions {
  /** Development/testing only: allow http: and any address (loopback, private, …). */
  allowInsecure?: boolean;
}

export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "cgnat"
  | "link_local"
  | "multicast"
  | "documentation"
  | "reserved";

/** Thrown (as a lookup error) when a hostname resolves to a forbidden address. */
export class ForbiddenAddressError extends Error {
  override readonly name = "ForbiddenAddressError";
  readonly code = "ERR_FORBIDDEN_ADDRESS";
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super(`${hostname} resolves to ${address} (${addressClass}), which push endpoints may not use`);
  }
}

// [network, prefix length, class]; everything not listed is public.
const IPV4_RANGES: ReadonlyArray<readonly [string, number, AddressClass]> = [
  ["0.0.0.0", 8, "unspecified"], // "this network"; 0.0.0.0 reaches localhost on Linux
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link_local"], // includes 169.254.169.254 cloud metadata
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"], // IETF protocol assignments
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "reserved"], // deprecated 6to4 relay anycast
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"], // benchmarking
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // includes 255.255.255.255 broadcast
];

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

const IPV4_TABLE = IPV4_RANGES.map(([network, prefix, cls]) => {
  const size = 2 ** (32 - prefix);
  const start = ipv4ToInt(network);
  return { start, end: start + size - 1, cls };
});

function classifyIpv4Int(value: number): AddressClass {
  for (const range of IPV4_TABLE) if (value >= range.start && value <= range.end) return range.cls;
  return "public";
}

function bytesToIpv4Int(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) * 2 ** 24) + ((b[at + 1] ?? 0) << 16) + ((b[at + 2] ?? 0) << 8) + (b[at + 3] ?? 0);
}

/** Parses a valid IPv6 literal (as accepted by net.isIPv6) into 16 bytes. */
function ipv6ToBytes(ip: string): Uint8Array {
  let text = ip;
  const bytes = new Uint8Array(16);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1]) {
    const v = ipv4ToInt(dotted[1]);
    tail = [v >>> 16, v & 0xffff];
    text = text.slice(0, -dotted[1].length);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const [headText = "", tailText] = text.split("::");
  const parse = (s: string | undefined) => (s ? s.split(":").filter((g) => g !== "").map((g) => parseInt(g, 16)) : []);
  const head = parse(headText);
  const rest = [...parse(tailText), ...tail];
  const groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  groups.forEach((g, i) => {
    bytes[i * 2] = g >>> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

function classifyIpv6(b: Uint8Array): AddressClass {
  const allZeroUntil = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const b0 = b[0] ?? 0;
  const b1 = b[1] ?? 0;
  if (allZeroUntil(10) && b[10] === 0xff && b[11] === 0xff) return classifyIpv4Int(bytesToIpv4Int(b, 12)); // ::ffff:a.b.c.d
  if (allZeroUntil(15)) return b[15] === 0 ? "unspecified" : b[15] === 1 ? "loopback" : "reserved";
  if (allZeroUntil(12)) return "reserved"; // deprecated IPv4-compatible ::a.b.c.d
  // NAT64 well-known prefix 64:ff9b::/96 reaches the embedded IPv4 address.
  if (b0 === 0x00 && b1 === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.subarray(4, 12).every((x) => x === 0)) {
    return classifyIpv4Int(bytesToIpv4Int(b, 12));
  }
  if (b0 === 0x00 && b1 === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0 && b[5] === 1) return "private"; // 64:ff9b:1::/48 local NAT64
  if (b0 === 0x20 && b1 === 0x02) return classifyIpv4Int(bytesToIpv4Int(b, 2)); // 6to4 2002::/16 embeds IPv4
  if (b0 === 0x20 && b1 === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return "documentation"; // 2001:db8::/32
  if (b0 === 0x20 && b1 === 0x01 && ((b[2] ?? 0) & 0xfe) === 0) return "reserved"; // 2001::/23 incl. Teredo
  if (b0 === 0x3f && b1 === 0xff && ((b[2] ?? 0) & 0xf0) === 0) return "documentation"; // 3fff::/20
  if ((b0 & 0xfe) === 0xfc) return "private"; // fc00::/7 unique local
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return "link_local"; // fe80::/10
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return "private"; // fec0::/10 deprecated site-local
  if (b0 === 0xff) return "multicast";
  // Only 2000::/3 is allocated global unicast; anything else is reserved.
  if ((b0 & 0xe0) !== 0x20) return "reserved";
  return "public";
}

/** Classifies an IP literal; null when the text is not an IP address. */
export function classifyAddress(ip: string): AddressClass | null {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (net.isIPv4(bare)) return classifyIpv4Int(ipv4ToInt(bare));
  const zone = bare.indexOf("%");
  // A zone id only makes sense for link-local scopes; never a public push service.
  if (zone >= 0) return net.isIPv6(bare.slice(0, zone)) ? "link_local" : null;
  if (net.isIPv6(bare)) return classifyIpv6(ipv6ToBytes(bare));
  return null;
}

/** True for any IP that is not public unicast. Non-IP text returns false. */
export function isForbiddenAddress(ip: string): boolean {
  const cls = classifyAddress(ip);
  return cls !== null && cls !== "public";
}

/**
 * Synchronous checks: parses the URL, requires https: (http: too when allowInsecure),
 * rejects embedded credentials and IP-literal hosts in forbidden ranges.
 */
export function checkEndpointUrl(endpoint: string, options: EndpointGuardOptions = {}): EndpointCheck {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, reason: "invalid_url", message: "endpoint is not a valid URL" };
  }
  const insecure = options.allowInsecure === true;
  if (url.protocol !== "https:" && !(insecure && url.protocol === "http:")) {
    return {
      ok: false,
      reason: url.protocol === "http:" ? "insecure_scheme" : "invalid_url",
      message: `endpoint scheme ${url.protocol} is not allowed; use https:`,
    };
  }
  if (url.username || url.password) {
    return { ok: false, reason: "invalid_url", message: "endpoint must not contain credentials" };
  }
  if (!url.hostname) return { ok: false, reason: "invalid_url", message: "endpoint has no host" };
  // WHATWG URL already normalised odd IPv4 spellings (0x7f.1, 2130706433) to dotted quads.
  const cls = classifyAddress(url.hostname);
  if (!insecure && cls !== null && cls !== "public") {
    return { ok: false, reason: "forbidden_address", message: `endpoint host is a ${cls} address` };
  }
  return { ok: true, url };
}

type DnsLookupAll = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface GuardedLookupOptions extends EndpointGuardOptions {
  /** Resolver to wrap; defaults to dns.lookup. Injectable to simulate hostile DNS in tests. */
  resolve?: DnsLookupAll;
}

/**
 * A net.LookupFunction that refuses hostnames resolving to any forbidden address. If one
 * of several addresses is forbidden the whole host is refused: a real push service never
 * resolves to a private address, and partial answers are a rebinding trick.
 */
export function createGuardedLookup(options: GuardedLookupOptions = {}): net.LookupFunction {
  const resolve: DnsLookupAll = options.resolve ?? ((host, opts, cb) => dns.lookup(host, opts, cb));
  const insecure = options.allowInsecure === true;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (addresses.length === 0) {
        const empty: NodeJS.ErrnoException = new Error(`no addresses for ${hostname}`);
        empty.code = "ENOTFOUND";
        return callback(empty, []);
      }
      if (!insecure) {
        for (const { address } of addresses) {
          const cls = classifyAddress(address);
          if (cls !== "public") return callback(new ForbiddenAddressError(hostname, address, cls ?? "reserved"), []);
        }
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0] as dns.LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Full check for registration time: the URL checks plus resolving the hostname. Sending
 * re-checks at connect time through the guarded lookup, so a later DNS change is caught.
 */
export async function checkEndpoint(endpoint: string, options: GuardedLookupOptions = {}): Promise<EndpointCheck> {
  const first = checkEndpointUrl(endpoint, options);
  if (!first.ok || options.allowInsecure) return first;
  const host = first.url.hostname;
  if (classifyAddress(host) !== null) return first; // IP literal, already classified
  const lookup = createGuardedLookup(options);
  return new Promise((resolve) => {
    lookup(host, { all: true }, (err) => {
      if (!err) return resolve(first);
      if (err instanceof ForbiddenAddressError) {
        return resolve({ ok: false, reason: "forbidden_address", message: err.message });
      }
      resolve({ ok: false, reason: "dns_failure", message: `could not resolve ${host}: ${err.code ?? err.message}` });
    });
  });
}

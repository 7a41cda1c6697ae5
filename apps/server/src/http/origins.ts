/**
 * A browser origin as it appears in the `Origin` header: scheme, host and optional port, nothing
 * else (`https://app.example.com`). Used for CORS_ORIGINS and per-partner origins alike.
 */
export function normalizeOrigin(value: string): string {
  const v = value.trim();
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || v.replace(/\/$/, "").toLowerCase() !== url.origin) {
    throw new Error(`not an origin: ${JSON.stringify(value)} (expected scheme://host[:port], e.g. https://app.example.com)`);
  }
  return url.origin;
}

/** Parses a comma-separated origin list; blank entries are ignored. */
export function parseOriginList(value: string): string[] {
  return [
    ...new Set(
      value
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== "")
        .map(normalizeOrigin),
    ),
  ];
}

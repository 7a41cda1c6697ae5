import { useSyncExternalStore } from "react";

// Client-side routes under /app/ on the History API: a handful of screens do not need a router library
// (and its bytes). The server answers index.html for any /app/ path, so deep links and reloads work.

export const BASE = "/app";

function emit() {
  window.dispatchEvent(new Event("reachbell:navigate"));
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  emit();
}

function subscribe(cb: () => void) {
  window.addEventListener("popstate", cb);
  window.addEventListener("reachbell:navigate", cb);
  return () => {
    window.removeEventListener("popstate", cb);
    window.removeEventListener("reachbell:navigate", cb);
  };
}

/** The current path and query, e.g. `/app/orgs/org_1/projects?x=1`. */
export function useLocation(): string {
  return useSyncExternalStore(subscribe, () => location.pathname + location.search);
}

/** `pattern` like `/app/orgs/:orgId/projects`; returns the named segments when `path` matches it. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = (path.split("?")[0] ?? "").replace(/\/$/, "").split("/");
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(":")) out[seg.slice(1)] = decodeURIComponent(s[i]!);
    else if (seg !== s[i]) return null;
  }
  return out;
}

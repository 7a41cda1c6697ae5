import { type ProcedureDef, type RateLimitGroup, contractEntries, rateLimitGroupForPath } from "@reachbell/contract";

/** Which counter a request draws on and how many requests it counts as (a tRPC batch counts each call). */
export interface GroupMatch {
  group: RateLimitGroup;
  cost: number;
  /** /healthz, /openapi.json and /docs are not limited. */
  exempt: boolean;
  /** Under /trpc: the procedure path(s) called, and whether it is a batch (`?batch=1`). */
  trpc: boolean;
  procedures: string[];
  batch: boolean;
}

const EXEMPT = new Set(["/healthz", "/openapi.json", "/docs"]);
/** Characters the WHATWG URL parser keeps as they are in a path (no `%`, `\\`, `#` or space). */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const rest = (group: RateLimitGroup, exempt = false): GroupMatch => ({ group, cost: 1, exempt, trpc: false, procedures: [], batch: false });

/** Strictest first: a tRPC batch mixing groups is counted in the strictest. */
const STRICTNESS: Record<RateLimitGroup, number> = { auth: 0, ingest: 1, default: 2 };
const stricter = (a: RateLimitGroup, b: RateLimitGroup): RateLimitGroup => (STRICTNESS[a] <= STRICTNESS[b] ? a : b);

interface TemplateRoute {
  segments: (string | null)[]; // null = a `{param}` segment
  group: RateLimitGroup;
}

/**
 * Resolves the rate-limit group of a request from the contract's metadata, built once:
 * - REST: method + path against every procedure's `meta.rest` (static paths by map lookup, templated
 *   ones segment by segment). A path matched by several routes takes the strictest group.
 * - /healthz, /openapi.json and /docs are exempt.
 * - tRPC (`/trpc/<path>[,<path>…]`): the procedures' groups; a batch takes the strictest, and costs
 *   one request per call, however many (batches over 100 calls are refused before counting, see
 *   http/path-guard.ts). The procedure part is read as tRPC's adapter reads it: the last path segment.
 * - Anything else (unknown routes) falls back to the group its path implies: `/subscribers*` and
 *   `/transactional/*` are ingest, the rest default. So a 404 costs the same as a real call.
 */
export class GroupResolver {
  private readonly staticRoutes = new Map<string, RateLimitGroup>();
  private readonly templates = new Map<string, TemplateRoute[]>();
  private readonly procedures = new Map<string, RateLimitGroup>();

  constructor(entries: [string, ProcedureDef][] = contractEntries()) {
    for (const [path, def] of entries) {
      const { method, path: restPath } = def.meta.rest;
      const group = def.meta.rateLimit;
      this.procedures.set(path, group);
      if (!restPath.includes("{")) {
        const k = `${method} ${normalize(restPath.toLowerCase())}`;
        const prev = this.staticRoutes.get(k);
        this.staticRoutes.set(k, prev ? stricter(prev, group) : group);
      } else {
        const list = this.templates.get(method) ?? [];
        list.push({ segments: normalize(restPath.toLowerCase()).split("/").map((s) => (/^\{.+\}$/.test(s) ? null : s)), group });
        this.templates.set(method, list);
      }
    }
  }

  /**
   * `url` is the request target (`req.url`). It is parsed as the routers parse it (WHATWG URL: dot
   * segments resolved, `\` read as `/`) and REST paths compare case-insensitively as
   * trpc-to-openapi's do, so no spelling of a path reaches a procedure under another group.
   */
  resolve(method: string, url: string): GroupMatch {
    // Fast path, every request: a plain path (no dot segment, escape, backslash or character the URL
    // parser would encode) is already what the parser would return, so it is used as it is.
    const q = url.indexOf("?");
    const raw = q < 0 ? url : url.slice(0, q);
    if (PLAIN_PATH.test(raw) && !raw.includes("/.")) {
      const lower = normalize(raw.toLowerCase());
      if (lower !== "/trpc" && !lower.startsWith("/trpc/") && !EXEMPT.has(lower) && !lower.startsWith("/docs/")) {
        return rest(this.resolveRest(method === "HEAD" ? "GET" : method, lower));
      }
    }
    let parsed: URL;
    try {
      parsed = new URL(url.startsWith("/") ? `http://127.0.0.1${url}` : url);
    } catch {
      return rest("default");
    }
    const path = parsed.pathname;
    const lower = normalize(path.toLowerCase());
    if (lower === "/trpc" || lower.startsWith("/trpc/")) return this.resolveTrpc(path.slice(6), parsed.searchParams.get("batch") === "1");
    // Exemption is decided on the normalized path, so `/docs/../auth/login` is not exempt.
    if (EXEMPT.has(lower) || lower.startsWith("/docs/")) return rest("default", true);
    return rest(this.resolveRest(method === "HEAD" ? "GET" : method, lower));
  }

  private resolveRest(method: string, path: string): RateLimitGroup {
    // Every route that matches counts, strictest wins: trpc-to-openapi picks the first declared match,
    // which may be a template declared before a static path.
    let found = this.staticRoutes.get(`${method} ${path}`);
    const templates = this.templates.get(method);
    if (templates) {
      const segments = path.split("/");
      for (const t of templates) {
        if (t.segments.length !== segments.length) continue;
        let match = true;
        for (let i = 0; match && i < segments.length; i++) {
          const s = t.segments[i];
          match = s === null ? segments[i] !== "" : s === segments[i];
        }
        if (match) found = found ? stricter(found, t.group) : t.group;
      }
    }
    return found ?? rateLimitGroupForPath(path);
  }

  private resolveTrpc(procPaths: string, batch: boolean): GroupMatch {
    // As tRPC's Express adapter: the procedure part is what follows the last `/` (so `/trpc/x/auth.login`
    // is auth.login, whatever a path guard in front does), decoded, then split on commas for a batch only.
    let decoded = procPaths.slice(procPaths.lastIndexOf("/") + 1);
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      /* keep it raw: tRPC will answer 400 */
    }
    const names = batch ? decoded.split(",") : [decoded];
    let group: RateLimitGroup = "default";
    for (const name of names) group = stricter(group, this.procedures.get(name) ?? rateLimitGroupForPath(`/${name.split(".")[0]}/`));
    return { group, cost: names.length, exempt: false, trpc: true, procedures: names, batch };
  }
}

/** Paths compare without a trailing slash. */
function normalize(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DOMAIN_ERRORS } from "@reachbell/contract";
import express, { type Request, type Response, type Router } from "express";
import type { Logger } from "../logger";
import { sendEnvelope } from "./envelope";

// The dashboard's built files (apps/dashboard/dist, made by Vite with base /app/), served at /app/:
//   /app/assets/*  content-hashed by Vite: cached for a year, immutable
//   /app/*         any other path is a client route: index.html, revalidated on every load (no-cache)
// `pnpm start` builds the dashboard before the server (turbo.json); a missing build answers 503 and
// logs how to make it, once.

/** apps/dashboard/dist of the workspace this file is in (src/http from source, dist when bundled). */
export function defaultDashboardDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "apps", "dashboard", "package.json"))) return join(dir, "apps", "dashboard", "dist");
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

const TYPES: Record<string, string> = {
  ".js": "application/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
};

// The page runs only its own bundle and talks only to this origin: an injected script could read the
// session token (sessionStorage), so none from elsewhere may run.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Cached {
  mtimeMs: number;
  size: number;
  body: Buffer;
  etag: string;
}

/** True when If-None-Match lists this entity tag (weak comparison, RFC 9110 §13.1.2) or is `*`. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  return ifNoneMatch.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

export function dashboardAssets(opts: { logger: Logger; dir?: string | undefined }): Router {
  const dir = opts.dir ?? defaultDashboardDir();
  const root = dir ? resolve(dir) : undefined;
  const cache = new Map<string, Cached>();
  let warned = false;
  const r = express.Router({ caseSensitive: true, strict: true });

  const load = async (file: string): Promise<Cached | undefined> => {
    try {
      const s = await stat(file);
      if (!s.isFile()) return undefined;
      const hit = cache.get(file);
      if (hit && hit.mtimeMs === s.mtimeMs && hit.size === s.size) return hit;
      const body = await readFile(file);
      const entry = { mtimeMs: s.mtimeMs, size: s.size, body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"` };
      cache.set(file, entry);
      return entry;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
      return undefined;
    }
  };

  const send = (req: Request, res: Response, asset: Cached, type: string, cacheControl: string) => {
    res.setHeader("Content-Type", type);
    res.setHeader("Cache-Control", cacheControl);
    res.setHeader("ETag", asset.etag);
    res.setHeader("X-Content-Type-Options", "nosniff");
    if (matches(req.headers["if-none-match"], asset.etag)) {
      res.status(304).end();
      return;
    }
    res.setHeader("Content-Length", String(asset.body.length));
    if (req.method === "HEAD") res.end();
    else res.end(asset.body);
  };

  const notFound = (req: Request, res: Response) => {
    const { status, message } = DOMAIN_ERRORS.ROUTE_NOT_FOUND;
    sendEnvelope(res, { statusCode: status, message, requestId: req.requestId });
  };

  // /app → /app/ (the page's relative URLs and the client routes all hang off the slash).
  r.get("/app", (_req, res) => res.redirect(301, "/app/"));

  r.get(/^\/app\/.*/, async (req, res, next) => {
    try {
      if (!root) return unavailable(req, res);
      const path = decodeURIComponent(req.path.slice("/app/".length));
      const file = resolve(root, path);
      const inside = file.startsWith(root + sep);
      // A file of the build (hashed under assets/): a miss there is a 404, never the page.
      if (inside && path !== "" && path !== "index.html") {
        const asset = await load(file);
        const hashed = path.startsWith("assets/");
        if (asset) return send(req, res, asset, TYPES[extname(file)] ?? "application/octet-stream", hashed ? "public, max-age=31536000, immutable" : "public, max-age=300");
        if (hashed || extname(path) !== "") return notFound(req, res);
      }
      // Any other path under /app/ is a client route: the page, revalidated on every load.
      const index = await load(join(root, "index.html"));
      if (!index) return unavailable(req, res);
      res.setHeader("Content-Security-Policy", CSP);
      res.setHeader("Referrer-Policy", "same-origin");
      send(req, res, index, TYPES[".html"]!, "no-cache");
    } catch (e) {
      if (e instanceof URIError) return notFound(req, res);
      next(e);
    }
  });

  function unavailable(req: Request, res: Response) {
    if (!warned) {
      warned = true;
      opts.logger.error("dashboard not built: run `pnpm --filter @reachbell/dashboard build` (pnpm start does it)", { dir: dir ?? null });
    }
    sendEnvelope(res, { statusCode: DOMAIN_ERRORS.SERVICE_UNAVAILABLE.status, message: "The dashboard is not built on this server", requestId: req.requestId });
  }
  return r;
}

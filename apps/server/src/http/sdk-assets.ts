import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DOMAIN_ERRORS } from "@reachbell/contract";
import express, { type Router } from "express";
import type { Logger } from "../logger";
import { sendEnvelope } from "./envelope";

// The browser SDK's built files (packages/sdk/dist), served for any site to load:
//   /sdk/reachbell.js     the IIFE (window.ReachBell) for a <script> tag
//   /sdk/reachbell-sw.js  the service worker, for the site to copy to its root (or importScripts)
// The URLs are not content-hashed, so they are cached briefly and revalidated with a strong ETag.
// `pnpm start` builds the SDK before the server (turbo.json: @reachbell/server#build depends on
// @reachbell/sdk#build); a missing build answers 503 and logs how to make it, once per file.

export const SDK_FILES = { "reachbell.js": "reachbell.js", "reachbell-sw.js": "reachbell-sw.js" } as const;

/** packages/sdk/dist of the workspace this file is in (src/http when run from source, dist when bundled). */
export function defaultSdkDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "packages", "sdk", "package.json"))) return join(dir, "packages", "sdk", "dist");
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

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

export function sdkAssets(opts: { logger: Logger; dir?: string | undefined }): Router {
  const dir = opts.dir ?? defaultSdkDir();
  const cache = new Map<string, Cached>();
  const warned = new Set<string>();
  const r = express.Router({ caseSensitive: true, strict: true });

  const load = async (name: string): Promise<Cached | undefined> => {
    if (!dir) return undefined;
    const file = join(dir, name);
    try {
      const s = await stat(file);
      const hit = cache.get(name);
      if (hit && hit.mtimeMs === s.mtimeMs && hit.size === s.size) return hit;
      const body = await readFile(file);
      const entry = { mtimeMs: s.mtimeMs, size: s.size, body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"` };
      cache.set(name, entry);
      warned.delete(name);
      return entry;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      return undefined;
    }
  };

  for (const name of Object.values(SDK_FILES)) {
    r.get(`/sdk/${name}`, async (req, res, next) => {
      try {
        const asset = await load(name);
        // Static files for any site: readable cross-origin (CORS and CORP), whatever CORS_ORIGINS says.
        res.setHeader("Access-Control-Allow-Origin", "*");
        res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
        if (!asset) {
          if (!warned.has(name)) {
            warned.add(name);
            opts.logger.error("SDK file not built: run `pnpm --filter @reachbell/sdk build` (pnpm start does it)", { file: name, dir: dir ?? null });
          }
          const { status, message } = DOMAIN_ERRORS.SERVICE_UNAVAILABLE;
          sendEnvelope(res, { statusCode: status, message, requestId: req.requestId });
          return;
        }
        res.setHeader("Content-Type", "application/javascript; charset=utf-8");
        res.setHeader("Cache-Control", "public, max-age=300");
        res.setHeader("ETag", asset.etag);
        res.setHeader("X-Content-Type-Options", "nosniff");
        if (matches(req.headers["if-none-match"], asset.etag)) {
          res.status(304).end();
          return;
        }
        res.setHeader("Content-Length", String(asset.body.length));
        if (req.method === "HEAD") res.end();
        else res.end(asset.body);
      } catch (e) {
        next(e);
      }
    });
  }
  return r;
}

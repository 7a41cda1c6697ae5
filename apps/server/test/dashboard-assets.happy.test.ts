import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, createDb, migrateToLatest, testConfig } from "../src/index";
import type { App } from "../src/app";

// The dashboard's built files at /app/, through the whole app (so the route sits where the REST
// middleware cannot swallow it), from a folder this suite writes: it does not need the dashboard
// built. The browser test loads the real build (apps/dashboard/test/dashboard.test.ts).

const INDEX = '<!doctype html><script type="module" src="/app/assets/index-abc123.js"></script>';

async function start(dashboardDir: string) {
  const database = createDb({ dialect: "sqlite", file: ":memory:" });
  await migrateToLatest(database.db, "sqlite");
  const app = createApp({ database, config: testConfig(), dashboardDir });
  const { server, url } = await app.listen(0, "127.0.0.1");
  return { app, server, url, database };
}

async function stop(s: { app: App; server: Server; database: { destroy(): Promise<void> } }) {
  s.server.closeAllConnections();
  await new Promise((r) => s.server.close(r));
  await s.app.close();
  await s.database.destroy();
}

describe("dashboard assets at /app/", () => {
  let dir: string;
  let s: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "reachbell-dashboard-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), INDEX);
    writeFileSync(join(dir, "assets", "index-abc123.js"), "console.log(1)");
    s = await start(dir);
  });
  afterAll(async () => {
    await stop(s);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves index.html at /app/, revalidated on every load, with a CSP that allows only its own scripts", async () => {
    const res = await fetch(`${s.url}/app/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await res.text()).toBe(INDEX);
    const again = await fetch(`${s.url}/app/`, { headers: { "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("answers client routes under /app/ with the page (SPA fallback), and redirects /app to /app/", async () => {
    for (const path of ["/app/projects", "/app/projects/proj_1/keys", "/app/login?next=%2Fapp%2Fprojects"]) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toBe(INDEX);
    }
    const bare = await fetch(`${s.url}/app`, { redirect: "manual" });
    expect(bare.status).toBe(301);
    expect(bare.headers.get("location")).toBe("/app/");
  });

  it("serves hashed assets as immutable for a year; a missing asset is the 404 envelope, not the page", async () => {
    const res = await fetch(`${s.url}/app/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await res.text()).toBe("console.log(1)");
    for (const path of ["/app/assets/index-gone.js", "/app/favicon.ico"]) {
      const miss = await fetch(`${s.url}${path}`);
      expect(miss.status, path).toBe(404);
      const body = (await miss.json()) as { statusCode: number; message: string; requestId: string };
      expect(body).toEqual({ statusCode: 404, message: "Route not found", requestId: miss.headers.get("x-request-id") });
    }
  });

  it("never serves a file outside the build", async () => {
    for (const path of ["/app/%2e%2e/package.json", "/app/..%2fpackage.json", "/app/assets/..%2f..%2fpackage.json"]) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status, path).not.toBe(500);
      expect(await res.text(), path).not.toContain('"name"');
    }
  });

  it("answers 503 with the envelope when the dashboard is not built", async () => {
    const empty = mkdtempSync(join(tmpdir(), "reachbell-dashboard-empty-"));
    const other = await start(empty);
    try {
      for (const path of ["/app/", "/app/projects"]) {
        const res = await fetch(`${other.url}${path}`);
        expect(res.status, path).toBe(503);
        expect(await res.json()).toEqual({ statusCode: 503, message: "The dashboard is not built on this server", requestId: res.headers.get("x-request-id") });
      }
    } finally {
      await stop(other);
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

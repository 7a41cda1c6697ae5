import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSdkDir, sdkAssets } from "../src/http/sdk-assets";
import { createLogger } from "../src/logger";
import { newRequestId } from "../src/http/request-id";

// The SDK's static files (/sdk/reachbell.js, /sdk/reachbell-sw.js), served from a folder this suite
// writes, so it does not depend on the SDK having been built. The browser test loads the real build
// through the whole app (packages/sdk/test/browser.test.ts).

describe("sdk assets", () => {
  let dir: string;
  let server: Server;
  let url: string;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "reachbell-sdk-"));
    writeFileSync(join(dir, "reachbell.js"), "window.ReachBell={v:1};");
    const app = express();
    app.use((req, _res, next) => {
      req.requestId = newRequestId();
      next();
    });
    app.use(sdkAssets({ logger: createLogger("info", (l) => logs.push(l)), dir }));
    server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the script with a strong ETag, short public caching and CORS for any site", async () => {
    const res = await fetch(`${url}/sdk/reachbell.js`, { headers: { origin: "https://any-site.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(await res.text()).toBe("window.ReachBell={v:1};");
  });

  it("answers 304 to If-None-Match with the current tag (also in a list, or weak), 200 to a stale one", async () => {
    const etag = (await fetch(`${url}/sdk/reachbell.js`)).headers.get("etag")!;
    for (const inm of [etag, `"stale", ${etag}`, `W/${etag}`, "*"]) {
      const res = await fetch(`${url}/sdk/reachbell.js`, { headers: { "if-none-match": inm } });
      expect(res.status, inm).toBe(304);
      expect(res.headers.get("etag")).toBe(etag);
    }
    expect((await fetch(`${url}/sdk/reachbell.js`, { headers: { "if-none-match": '"stale"' } })).status).toBe(200);
  });

  it("a rebuilt file gets a new tag", async () => {
    const before = (await fetch(`${url}/sdk/reachbell.js`)).headers.get("etag");
    writeFileSync(join(dir, "reachbell.js"), "window.ReachBell={v:2, longer:true};");
    const res = await fetch(`${url}/sdk/reachbell.js`, { headers: { "if-none-match": before! } });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).not.toBe(before);
    expect(await res.text()).toContain("v:2");
  });

  it("a file not built is a 503 envelope and one clear log line, not a crash", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/sdk/reachbell-sw.js`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { statusCode: number; requestId: string };
      expect(body.statusCode).toBe(503);
      expect(body.requestId).toMatch(/^req_/);
    }
    const lines = logs.filter((l) => l.includes("SDK file not built"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", file: "reachbell-sw.js", dir });
  });

  it("finds packages/sdk/dist of this workspace by default", () => {
    expect(defaultSdkDir()).toMatch(/packages[/\\]sdk[/\\]dist$/);
  });
});

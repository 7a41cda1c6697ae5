// What every dashboard browser test needs: the dashboard built the way `pnpm build` builds it, a real
// ReachBell server in this process on in-memory SQLite serving that build at /app/, Debian's Chromium
// driven by playwright-core, and per-page monitors (console errors, failed requests, accessibility).
//
// Chromium must be installed (`apt-get install -y chromium`), or CHROMIUM_PATH must name another
// Chromium-family binary. A missing browser fails the suite, never skips it.

import { execFileSync } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type App, createApp, createDb, migrateToLatest, testConfig } from "@reachbell/server";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { expect } from "vitest";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ARTIFACTS = join(pkg, "test-artifacts");
const require = createRequire(import.meta.url);

export interface Harness {
  app: App;
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

/** Builds the dashboard, starts the server on port 0 and launches Chromium. */
export async function startHarness(): Promise<Harness> {
  execFileSync(process.execPath, [join(pkg, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], { cwd: pkg, stdio: "pipe" });
  execFileSync(process.execPath, [join(pkg, "scripts/size.mjs")], { cwd: pkg, stdio: "pipe" });
  mkdirSync(ARTIFACTS, { recursive: true });

  const database = createDb({ dialect: "sqlite", file: ":memory:" });
  await migrateToLatest(database.db, "sqlite");
  const app = createApp({ database, config: testConfig({}), dashboardDir: join(pkg, "dist") });
  await app.deps.fanout.start();
  const { server, url } = await app.listen(0, "127.0.0.1");

  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  return {
    app,
    url: url.replace("127.0.0.1", "localhost"),
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      await app.deps.fanout.stop();
      await new Promise<void>((resolve) => {
        (server as Server).close(() => resolve());
        server.closeAllConnections();
      });
      await app.close();
      await database.destroy();
    },
  };
}

/** A page whose console errors, uncaught errors and failed requests are recorded. */
export interface Watched {
  context: BrowserContext;
  page: Page;
  problems: string[];
  /** Responses with these statuses (e.g. the 401 a test provokes) are expected, not problems. */
  allowStatus: Set<number>;
}

export async function openPage(browser: Browser, baseURL: string): Promise<Watched> {
  const context = await browser.newContext({ baseURL, acceptDownloads: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  const page = await context.newPage();
  const problems: string[] = [];
  const allowStatus = new Set<number>();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Chromium reports every non-2xx response as a console error too: those are judged below.
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (\d+)/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !allowStatus.has(r.status())) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => {
    // A live subscription (SSE) is torn down when its screen unmounts: aborting it is not a failure.
    if (r.failure()?.errorText === "net::ERR_ABORTED" && r.url().includes("/trpc/campaigns.progress")) return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  return { context, page, problems, allowStatus };
}

let axeScript: string | undefined;
const axeSource = () => (axeScript ??= readFileSync(require.resolve("axe-core"), "utf8"));

/** axe-core in the page: no serious or critical violation on this screen. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // The page's CSP (script-src 'self') refuses a <script> tag from page.addScriptTag, as it should; the
  // same source evaluated through the DevTools protocol is not subject to it, and the CSP stays on for
  // everything the app itself does.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource());
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown }[] }[] }> } }).axe.run();
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
  });
  expect(violations, `accessibility of ${screen}`).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** REST calls the tests make outside the page (fixtures, and checks that the UI's action took effect). */
export async function api<T = any>(base: string, method: string, path: string, opts: { body?: unknown; token?: string; orgId?: string; apiKey?: string } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.orgId) headers["x-org-id"] = opts.orgId;
  if (opts.apiKey) headers["x-api-key"] = opts.apiKey;
  const res = await fetch(`${base}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A web-push subscription's fields with real P-256 and auth bytes (sandbox projects never send to it). */
export function fakeSubscription(n: number) {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { endpoint: `https://push.example.test/send/${n}-${randomBytes(4).toString("hex")}`, p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

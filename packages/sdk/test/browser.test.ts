// The SDK and its service worker in a real browser (Debian's /usr/bin/chromium, headless, driven by
// playwright-core), against a real ReachBell server in this process, a local push service (the
// push peer, which checks VAPID and decrypts like a browser would) and a test site on another
// local origin that loads /sdk/reachbell.js from the server and hosts the worker at its root.
//
// The one stand-in: PushManager.prototype.subscribe/getSubscription. Offline, Chromium's real
// subscribe() fails ("AbortError: Registration failed - permission denied": there is no push
// service to reach), so an init script replaces exactly those two methods with a subscription
// whose endpoint is on the push peer and whose P-256 key pair and auth secret were made in Node by
// the peer (peer.createSubscriber()), so the peer can decrypt what the server sends. Everything else
// is the browser's own: the permission (granted by the test), the service worker's registration,
// IndexedDB, fetch and CORS, the push event (delivered through the DevTools protocol's
// ServiceWorker.deliverPushMessage with the plaintext the peer decrypted) and showNotification.
//
// Chromium must be installed (`.ci/run` installs it): `apt-get install -y chromium`, or point
// CHROMIUM_PATH at another Chromium-family binary. A missing browser fails the suite, never skips it.

import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// Relative imports: the SDK depends on no workspace package at run time, and these are test-only.
import { type App, createApp, createDb, migrateToLatest, testConfig } from "../../../apps/server/src/index";
import { type PeerSubscriber, type PushServicePeer, startPushServicePeer } from "../../push/src/testing/index";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");

declare global {
  interface Window {
    ReachBell: typeof import("../src/index").default;
    __subscribeOptions?: { applicationServerKey?: string };
  }
}

/** The stand-in for PushManager.subscribe/getSubscription (see the top of this file). Runs in the page. */
function standInSubscription(sub: { endpoint: string; p256dh: string; auth: string }) {
  const bytes = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
  const STORE = "__reachbell_test_subscription";
  const make = (key: ArrayBuffer | null) => {
    const subscription = {
      endpoint: sub.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: key },
      getKey: (name: string) => bytes(name === "p256dh" ? sub.p256dh : sub.auth),
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }),
      unsubscribe: async () => {
        current = null;
        localStorage.removeItem(STORE);
        return true;
      },
    };
    return subscription;
  };
  let current: ReturnType<typeof make> | null = null;
  const saved = localStorage.getItem(STORE);
  if (saved !== null) current = make(bytes(saved));
  PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
    const raw = options?.applicationServerKey;
    const key: Uint8Array = typeof raw === "string" ? new Uint8Array(bytes(raw)) : ArrayBuffer.isView(raw) ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : new Uint8Array(raw as ArrayBuffer);
    const b64 = btoa(String.fromCharCode(...key)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    window.__subscribeOptions = { applicationServerKey: b64 };
    localStorage.setItem(STORE, b64);
    current = make(key.slice().buffer as ArrayBuffer);
    return current as unknown as PushSubscription;
  };
  PushManager.prototype.getSubscription = async function () {
    return current as unknown as PushSubscription | null;
  };
}

async function json(res: Response) {
  const body = (await res.json()) as any;
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
}

describe("browser SDK and service worker in Chromium", () => {
  let app: App;
  let api: Server;
  let apiUrl: string;
  let destroyDb: () => Promise<void>;
  let peer: PushServicePeer;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  /** The page's key: publishable, for the test site's origin only. */
  let apiKey: string;
  /** The backend's key (full scope): reads subscribers and sends. */
  let serverKey: string;
  let identitySecret: string;
  let vapidPublicKey: string;
  const contexts: BrowserContext[] = [];

  const headers = () => ({ "content-type": "application/json", "x-api-key": serverKey });
  const getSubscriber = async (id: string) => json(await fetch(`${apiUrl}/subscribers/${id}`, { headers: headers() }));

  /** A fresh browser profile on the test site with notifications granted; page errors are collected. */
  async function openSite(initScripts: [(arg: any) => void, unknown][] = []): Promise<{ page: Page; errors: Error[]; console: string[] }> {
    const context = await browser.newContext();
    contexts.push(context);
    await context.grantPermissions(["notifications"], { origin: siteUrl });
    for (const [fn, arg] of initScripts) await context.addInitScript(fn, arg);
    const page = await context.newPage();
    const errors: Error[] = [];
    const consoleLines: string[] = [];
    page.on("pageerror", (e) => errors.push(e));
    page.on("console", (m) => consoleLines.push(m.text()));
    await page.goto(`${siteUrl}/`);
    await page.waitForFunction(() => typeof window.ReachBell === "object");
    return { page, errors, console: consoleLines };
  }

  beforeAll(async () => {
    // The files the server serves at /sdk/: the build under test, made the way `pnpm build` makes it.
    execFileSync(process.execPath, [join(pkg, "node_modules/tsup/dist/cli-default.js")], { cwd: pkg, stdio: "pipe" });
    execFileSync(process.execPath, [join(pkg, "scripts/size.mjs")], { cwd: pkg, stdio: "pipe" });

    // The test site: its own origin (http://localhost is a secure context), a page that loads the
    // SDK from the API server, and the worker file copied from the server to the site's root.
    site = createServer(async (req, res) => {
      if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Shop</title><script src="${apiUrl}/sdk/reachbell.js"></script></head><body><h1>Shop</h1></body></html>`);
      } else if (req.url?.startsWith("/reachbell-sw.js")) {
        const worker = await fetch(`${apiUrl}/sdk/reachbell-sw.js`);
        res.writeHead(worker.status, { "content-type": "application/javascript; charset=utf-8" });
        res.end(await worker.text());
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
    siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`;

    // The API with no CORS_ORIGINS: the site's origin is allowed by its project (allowedOrigins), for
    // its publishable key only.
    const database = createDb({ dialect: "sqlite", file: ":memory:" });
    await migrateToLatest(database.db, "sqlite");
    destroyDb = () => database.destroy();
    app = createApp({ database, config: testConfig({ corsOrigins: [] }) });
    ({ server: api, url: apiUrl } = await app.listen(0, "127.0.0.1"));
    peer = await startPushServicePeer();

    const reg = await json(
      await fetch(`${apiUrl}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `sdk-${Date.now().toString(36)}@example.test`, password: "correct horse battery", name: "Ada", organizationName: "Shop" }),
      }),
    );
    const dash = { "content-type": "application/json", authorization: `Bearer ${reg.access_token}`, "x-org-id": reg.user.organizations[0].id };
    const project = await json(
      await fetch(`${apiUrl}/projects`, { method: "POST", headers: dash, body: JSON.stringify({ name: "Shop", environment: "live", allowedOrigins: [siteUrl] }) }),
    );
    vapidPublicKey = project.vapidPublicKey;
    const newKey = async (body: object) => (await json(await fetch(`${apiUrl}/projects/${project.id}/api-keys`, { method: "POST", headers: dash, body: JSON.stringify(body) }))).key as string;
    apiKey = await newKey({ name: "site", scope: "publishable" });
    serverKey = await newKey({ name: "backend" });
    // Identity verification on: the page's identify must carry the HMAC the backend computes.
    identitySecret = (await json(await fetch(`${apiUrl}/projects/${project.id}/identity-secret`, { method: "POST", headers: dash, body: "{}" }))).identitySecret;
    await json(await fetch(`${apiUrl}/projects/${project.id}`, { method: "PATCH", headers: dash, body: JSON.stringify({ identityVerification: true }) }));

    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await peer?.close();
    await new Promise<void>((r) => (site ? site.close(() => r()) : r()));
    await new Promise<void>((resolve) => {
      if (!api) return resolve();
      api.close(() => resolve());
      api.closeAllConnections();
    });
    await app?.close();
    await destroyDb?.();
  });

  it("the server serves the built SDK files with caching headers", async () => {
    const res = await fetch(`${apiUrl}/sdk/reachbell.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/javascript; charset=utf-8");
    expect(await res.text()).toBe(readFileSync(join(pkg, "dist/reachbell.js"), "utf8"));
    const again = await fetch(`${apiUrl}/sdk/reachbell.js`, { headers: { "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("prompt registers, identify and tags land, a push is shown and its display reaches the API", async () => {
    const device: PeerSubscriber = peer.createSubscriber();
    peer.expectVapidKey(device.id, vapidPublicKey);
    const { page, errors } = await openSite([[standInSubscription, { endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth }]]);

    // Calls made before init wait for it.
    const early = page.evaluate(() => window.ReachBell.isSubscribed());
    const result = await page.evaluate(async (key) => {
      await window.ReachBell.init({ apiKey: key });
      return window.ReachBell.prompt();
    }, apiKey);
    expect(await early).toBe(false);
    expect(result).toMatchObject({ subscribed: true, permission: "granted" });
    expect(result.subscriberId).toMatch(/^sub_/);
    expect(result.token).toMatch(/^tok_/);
    // The SDK subscribed with the project's VAPID key (from GET /sdk/config).
    expect(await page.evaluate(() => window.__subscribeOptions?.applicationServerKey)).toBe(vapidPublicKey);
    expect(await page.evaluate(() => window.ReachBell.isSubscribed())).toBe(true);
    expect(await page.evaluate(() => window.ReachBell.permission)).toBe("granted");

    const registered = await getSubscriber(result.subscriberId!);
    expect(registered).toMatchObject({ id: result.subscriberId, token: result.token, endpoint: device.endpoint, status: "active" });

    // A wrong identity token is refused (and readable by the page: its origin is allowed); the right one lands.
    const refused = await page.evaluate(() =>
      window.ReachBell.identify("user-42", "0".repeat(64)).then(
        () => null,
        (e: { status: number; message: string }) => ({ status: e.status, message: e.message }),
      ),
    );
    expect(refused).toEqual({ status: 403, message: "identityToken does not match externalId" });
    const identityToken = createHmac("sha256", identitySecret).update("user-42").digest("hex");
    await page.evaluate(async (token) => {
      await window.ReachBell.identify("user-42", token);
      await window.ReachBell.addTags(["vip", "beta"]);
      await window.ReachBell.removeTags(["beta"]);
    }, identityToken);
    expect(await getSubscriber(result.subscriberId!)).toMatchObject({ externalId: "user-42", tags: ["vip"] });

    // Prompting again is the same subscriber (no second registration).
    const again = await page.evaluate(() => window.ReachBell.prompt());
    expect(again).toMatchObject({ subscribed: true, subscriberId: result.subscriberId, token: result.token });

    // A transactional push from the server reaches the push service and is decrypted there.
    const sent = await json(
      await fetch(`${apiUrl}/transactional/send`, {
        method: "POST",
        headers: headers(),
        body: JSON.stringify({ externalId: "user-42", title: "Order shipped", body: "Order #1042 is on its way", url: `${siteUrl}/orders/1042` }),
      }),
    );
    expect(sent).toMatchObject({ success: true, delivered: true });
    const pushed = peer.received.filter((r) => r.id === device.id);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]!.payload).toMatchObject({ title: "Order shipped", messageId: sent.messageId });

    // The same plaintext, delivered to the site's service worker by the browser (DevTools protocol).
    const cdp = await page.context().newCDPSession(page);
    const registrationId = new Promise<string>((resolve) => {
      cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
        const reg = registrations.find((r) => r.scopeURL === `${siteUrl}/` && !r.isDeleted);
        if (reg) resolve(reg.registrationId);
      });
    });
    await cdp.send("ServiceWorker.enable");
    // The worker posts to the site's pages once showNotification() has settled (ENGINEERING.md: asking
    // getNotifications() earlier can miss it).
    const shown = page.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          navigator.serviceWorker.addEventListener("message", (e) => {
            if (e.data?.reachbell === "displayed") resolve(e.data);
          });
        }),
    );
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: siteUrl, registrationId: await registrationId, data: pushed[0]!.text });
    expect(await shown).toEqual({ reachbell: "displayed", messageId: sent.messageId });

    const notifications = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration("/");
      return (await reg!.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
    });
    expect(notifications).toEqual([
      { title: "Order shipped", body: "Order #1042 is on its way", tag: sent.messageId, data: { url: `${siteUrl}/orders/1042`, actions: [], messageId: sent.messageId } },
    ]);

    // The worker's `displayed` report reached the API and set the message row's displayedAt.
    const displayedAt = () =>
      app.deps.database.db
        .selectFrom("messages")
        .select("displayedAt")
        .where("id", "=", sent.messageId)
        .executeTakeFirstOrThrow()
        .then((r) => r.displayedAt);
    await expect.poll(displayedAt, { timeout: 20_000 }).not.toBeNull();

    // Unsubscribing from the page (by its token: the publishable key cannot address subscribers by id).
    await page.evaluate(() => window.ReachBell.unsubscribe());
    expect(await getSubscriber(result.subscriberId!)).toMatchObject({ status: "unsubscribed" });
    expect(errors).toEqual([]);
  }, 120_000);

  it("a browser without the Push API gets {subscribed: false, reason}", async () => {
    const { page, errors } = await openSite([
      [
        () => {
          delete (window as { PushManager?: unknown }).PushManager;
        },
        undefined,
      ],
    ]);
    const result = await page.evaluate(async (key) => {
      await window.ReachBell.init({ apiKey: key });
      return window.ReachBell.prompt();
    }, apiKey);
    expect(result).toEqual({ subscribed: false, permission: "unsupported", reason: "unsupported-browser" });
    expect(await page.evaluate(() => window.ReachBell.isSubscribed())).toBe(false);
    expect(errors).toEqual([]);
  }, 60_000);

  it("an API error is a ReachBellError with the API's message and requestId, and never an unhandled rejection", async () => {
    const device = peer.createSubscriber();
    const { page, errors, console: lines } = await openSite([[standInSubscription, { endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth }]]);
    const caught = await page.evaluate(async () => {
      await window.ReachBell.init({ apiKey: `rb_live_${"x".repeat(32)}` });
      try {
        await window.ReachBell.prompt();
        return null;
      } catch (e) {
        const err = e as InstanceType<typeof window.ReachBell.ReachBellError>;
        return { isReachBellError: err instanceof window.ReachBell.ReachBellError, name: err.name, message: err.message, status: err.status, requestId: err.requestId };
      }
    });
    expect(caught).toMatchObject({ isReachBellError: true, name: "ReachBellError", message: "Invalid API key", status: 401 });
    expect(caught!.requestId).toMatch(/^req_/);

    // Nobody awaits this one: it is logged, not thrown into the page.
    await page.evaluate(() => {
      void window.ReachBell.addTags(["never"]);
    });
    await expect.poll(() => lines.some((l) => l.includes("[ReachBell]") && l.includes("Not subscribed")), { timeout: 20_000 }).toBe(true);
    // A round trip through the page after the rejection settled: an unhandled rejection would have been reported by now.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    expect(errors).toEqual([]);
  }, 60_000);
});

// @reachbell/sdk: web push for a site in a few calls. No runtime dependencies; the IIFE build is
// window.ReachBell (served by the server at /sdk/reachbell.js), the ESM build is for bundlers.
//
//   ReachBell.init({ apiKey: "rb_live_…" });
//   const r = await ReachBell.prompt();            // asks for permission, subscribes, registers
//   await ReachBell.identify("user-42");           // after your user logs in
//
// The site hosts the service worker (the file served at /sdk/reachbell-sw.js) at its root as
// /reachbell-sw.js, or at `swPath`. The SDK registers it as `${swPath}?apiKey=…&apiUrl=…`: the
// worker reads its configuration from its own URL, since it has no page to ask.

import { idbSet } from "./idb";
import { type Endpoint, ReachBellError, base64UrlToBytes, callApi, registerSubscription } from "./shared";
import type { WorkerState } from "./idb";

export { ReachBellError };

export interface InitOptions {
  /** The project's publishable API key (rb_live_… or rb_test_…, created with scope "publishable"; the page's origin must be in the project's allowedOrigins). */
  apiKey: string;
  /** The ReachBell API's base URL. Default: the origin this script was loaded from (or the page's). */
  apiUrl?: string;
  /** Where the site hosts the service worker file. Default "/reachbell-sw.js" (scope: the site root). */
  swPath?: string;
  /** Ask for permission on the visitor's first click or key press (never on load). Default false. */
  autoPrompt?: boolean;
  /** Log what the SDK does to the console. Default false. */
  debug?: boolean;
  /** Called with every error of work nobody awaits (init's sync, autoPrompt); they are also logged. */
  onError?: (error: ReachBellError) => void;
}

/** The browser's notification permission; `unsupported` when the browser cannot do web push. */
export type Permission = NotificationPermission | "unsupported";

/** Why a visitor is not subscribed. */
export type NotSubscribedReason =
  | "unsupported-browser" // no service worker, Push API or Notification API
  | "insecure-context" // not https (localhost excepted)
  | "ios-requires-home-screen" // iOS/iPadOS Safari: web push only in an installed web app (Add to Home Screen)
  | "permission-denied" // the visitor blocked notifications
  | "permission-dismissed"; // the visitor closed the prompt without answering

export interface PromptResult {
  subscribed: boolean;
  permission: Permission;
  /** The subscriber's id (sub_…) when subscribed. */
  subscriberId?: string;
  /** The subscriber's token (tok_…) when subscribed: what your backend sends transactional pushes to. */
  token?: string;
  reason?: NotSubscribedReason;
}

/** What this browser remembers (localStorage) between page loads. */
interface Stored {
  projectId?: string;
  endpoint?: string;
  subscriberId?: string;
  token?: string;
  /** When the API was last told this subscriber was seen (ms). */
  seenAt?: number;
  /** The user id given to identify(), re-applied when the subscription changes. */
  userId?: string;
  identityToken?: string;
  /** Tags added through the SDK, re-applied when the subscription changes. */
  tags?: string[];
}

const STORE_KEY = "reachbell";
const DAY_MS = 24 * 60 * 60 * 1000;

// The origin this script came from: the default API URL for the IIFE served by the API itself.
const scriptOrigin = (() => {
  try {
    const src = typeof document !== "undefined" ? (document.currentScript as HTMLScriptElement | null)?.src : undefined;
    return src ? new URL(src).origin : undefined;
  } catch {
    return undefined;
  }
})();

let options: (Required<Omit<InitOptions, "onError">> & Pick<InitOptions, "onError">) | undefined;
let ep: Endpoint;
let resolveInit: () => void;
const initialized = new Promise<void>((r) => (resolveInit = r));
/** Settles when init's own work (keeping the subscription true) is done; never rejects. */
let ready: Promise<void> = initialized;
let config: Promise<{ projectId: string; vapidPublicKey: string }> | undefined;

function log(...args: unknown[]): void {
  if (options?.debug) console.info("[ReachBell]", ...args);
}

function load(): Stored {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY) ?? "{}") as Stored;
  } catch {
    return {};
  }
}

function save(s: Stored): void {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(s));
  } catch {
    /* storage full or blocked: the next load registers again (409 → the same subscriber) */
  }
}

function asError(e: unknown): ReachBellError {
  return e instanceof ReachBellError ? e : new ReachBellError((e as Error)?.message ?? String(e));
}

/** Reports an error of background work: logged and handed to onError, never an unhandled rejection. */
function report(e: unknown): void {
  const err = asError(e);
  console.warn("[ReachBell]", err.message, err.requestId ?? "");
  try {
    options?.onError?.(err);
  } catch {
    /* the page's handler must not break the SDK */
  }
}

/**
 * The promise a public method returns: the caller's await sees the ReachBellError, and a caller who
 * does not await causes no unhandled rejection (the error is logged instead).
 */
function guarded<T>(fn: () => Promise<T>): Promise<T> {
  const p = initialized.then(() => ready).then(fn).catch((e: unknown) => Promise.reject(asError(e)));
  p.catch(report);
  return p;
}

function isIos(): boolean {
  const ua = navigator.userAgent;
  return /iP(hone|od|ad)/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
}

function unsupportedReason(): NotSubscribedReason | undefined {
  if (typeof window === "undefined") return "unsupported-browser";
  if (!window.isSecureContext) return "insecure-context";
  const standalone = (navigator as { standalone?: boolean }).standalone === true || window.matchMedia?.("(display-mode: standalone)").matches;
  if (isIos() && !standalone) return "ios-requires-home-screen";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return "unsupported-browser";
  return undefined;
}

function currentPermission(): Permission {
  return unsupportedReason() === undefined ? Notification.permission : "unsupported";
}

function getConfig() {
  config ??= callApi<{ projectId: string; vapidPublicKey: string }>(ep, "GET", "/sdk/config").catch((e: unknown) => {
    config = undefined;
    throw e;
  });
  return config;
}

/** The worker's registration once it is active (PushManager.subscribe needs an active worker). */
async function activeRegistration(): Promise<ServiceWorkerRegistration> {
  const url = `${options!.swPath}?apiKey=${encodeURIComponent(ep.apiKey)}&apiUrl=${encodeURIComponent(ep.apiUrl)}`;
  const reg = await navigator.serviceWorker.register(url);
  if (reg.active) return reg;
  const worker = reg.installing ?? reg.waiting;
  if (!worker) return reg;
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (worker.state === "activated") resolve();
      else if (worker.state === "redundant") reject(new ReachBellError(`The service worker at ${options!.swPath} failed to install`));
    };
    worker.addEventListener("statechange", check);
    check();
  });
  return reg;
}

/** The state the service worker reads (token, user id) follows what the page knows. */
async function shareWithWorker(s: Stored): Promise<void> {
  if (!s.token) return;
  const state: WorkerState = { token: s.token, userId: s.userId, identityToken: s.identityToken };
  await idbSet("state", state).catch((e: unknown) => log("could not store the token for the worker", e));
}

/**
 * Keeps the API's view true for this browser's subscription: registers it when it is new or its
 * endpoint changed (re-applying the user id and tags), and at most once a day tells the API the
 * subscriber was seen.
 */
async function sync(sub: PushSubscription, projectId: string): Promise<Stored> {
  let s = load();
  const json = sub.toJSON();
  if (s.projectId === projectId && s.endpoint === json.endpoint && s.token) {
    if (Date.now() - (s.seenAt ?? 0) > DAY_MS) {
      // Any subscriber call marks it seen; an empty tag change is the lightest.
      try {
        await callApi(ep, "POST", "/subscribers/tags", { token: s.token, add: [], remove: [] });
        s.seenAt = Date.now();
        save(s);
      } catch (e) {
        if ((e as ReachBellError).status !== 404) throw e;
        s = { ...s, token: undefined, endpoint: undefined }; // gone on the server: register again below
      }
    }
    if (s.token) {
      await shareWithWorker(s);
      return s;
    }
  }
  const changed = s.endpoint !== undefined && s.endpoint !== json.endpoint;
  log(changed ? "subscription changed: registering the new one" : "registering the subscription");
  const sameProject = s.projectId === projectId;
  const created = await registerSubscription(ep, {
    endpoint: json.endpoint,
    keys: json.keys,
    userAgent: navigator.userAgent,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    language: navigator.language,
  });
  s = { ...(sameProject ? s : {}), projectId, endpoint: json.endpoint, subscriberId: created.id, token: created.token, seenAt: Date.now() };
  save(s);
  await shareWithWorker(s);
  // A new subscription is a new subscriber: carry over who the visitor is and their tags.
  if (s.userId) await callApi(ep, "POST", "/subscribers/identify", { token: s.token, externalId: s.userId, ...(s.identityToken ? { identityToken: s.identityToken } : {}) });
  if (s.tags?.length) await callApi(ep, "POST", "/subscribers/tags", { token: s.token, add: s.tags });
  return s;
}

async function subscribe(): Promise<PromptResult> {
  const reason = unsupportedReason();
  if (reason) return { subscribed: false, permission: currentPermission(), reason };
  let permission: Permission = Notification.permission;
  if (permission === "default") permission = await Notification.requestPermission();
  if (permission !== "granted") return { subscribed: false, permission, reason: permission === "denied" ? "permission-denied" : "permission-dismissed" };
  const [reg, cfg] = await Promise.all([activeRegistration(), getConfig()]);
  let sub = await reg.pushManager.getSubscription();
  const key = sub?.options?.applicationServerKey;
  if (sub && key && !sameBytes(new Uint8Array(key), base64UrlToBytes(cfg.vapidPublicKey))) {
    // Subscribed for another project's key (the site changed keys): that subscription cannot receive this project's pushes.
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(cfg.vapidPublicKey) });
  const s = await sync(sub, cfg.projectId);
  return { subscribed: true, permission, subscriberId: s.subscriberId!, token: s.token! };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** On load: when the visitor already granted permission, keep the existing subscription true (never asks). */
async function resume(): Promise<void> {
  if (unsupportedReason() || Notification.permission !== "granted") return;
  const reg = await navigator.serviceWorker.getRegistration(options!.swPath);
  if (!reg) return;
  await subscribe();
}

/**
 * Starts the SDK. Calls made before it wait for it. Returns when the SDK has checked this browser's
 * subscription; it never rejects (problems are logged and given to `onError`).
 */
export function init(opts: InitOptions): Promise<void> {
  if (options) {
    log("init called twice: ignored");
    return ready;
  }
  if (!opts || typeof opts.apiKey !== "string" || opts.apiKey === "") {
    report(new ReachBellError("init needs an apiKey"));
    return Promise.resolve();
  }
  options = {
    apiKey: opts.apiKey,
    apiUrl: (opts.apiUrl ?? scriptOrigin ?? (typeof location !== "undefined" ? location.origin : "")).replace(/\/+$/, ""),
    swPath: opts.swPath ?? "/reachbell-sw.js",
    autoPrompt: opts.autoPrompt ?? false,
    debug: opts.debug ?? false,
    onError: opts.onError,
  };
  ep = { apiKey: options.apiKey, apiUrl: options.apiUrl };
  ready = resume().catch(report);
  resolveInit();
  if (options.autoPrompt && typeof window !== "undefined") {
    // A permission request must come from a user gesture (and asking on load is bad manners).
    const events = ["pointerdown", "keydown", "touchend"] as const;
    const once = () => {
      for (const e of events) window.removeEventListener(e, once, true);
      if (currentPermission() === "default") prompt().catch(() => undefined);
    };
    for (const e of events) window.addEventListener(e, once, true);
  }
  log("initialized", { apiUrl: options.apiUrl, swPath: options.swPath });
  return ready;
}

/**
 * Asks for permission (when not decided yet), subscribes, and registers the subscription. Call it
 * from a user gesture (a click). Unsupported browsers and refusals resolve with `subscribed: false`
 * and a `reason`; API and browser failures reject with a ReachBellError.
 */
export function prompt(): Promise<PromptResult> {
  return guarded(subscribe);
}

/** The subscriber this browser is, once subscribed. */
function stored(): Stored & { token: string } {
  const s = load();
  if (!s.token) throw new ReachBellError("Not subscribed: call prompt() first");
  return s as Stored & { token: string };
}

/**
 * Attaches your user id to this browser's subscriber (call it after login), so your backend can push
 * to the user by `externalId`. `identityToken` (HMAC-SHA256 of the user id, made by your backend) is
 * passed to the API for projects that verify identities. Before the visitor subscribes, the id is
 * remembered and applied when they do.
 */
export function identify(userId: string, identityToken?: string): Promise<void> {
  return guarded(async () => {
    const s = load();
    s.userId = userId;
    s.identityToken = identityToken;
    save(s);
    if (!s.token) return;
    await callApi(ep, "POST", "/subscribers/identify", { token: s.token, externalId: userId, ...(identityToken ? { identityToken } : {}) });
    await shareWithWorker(s);
  });
}

function changeTags(add: string[], remove: string[]): Promise<void> {
  return guarded(async () => {
    const s = stored();
    await callApi(ep, "POST", "/subscribers/tags", { token: s.token, add, remove });
    const tags = new Set(s.tags ?? []);
    for (const t of remove) tags.delete(t);
    for (const t of add) tags.add(t);
    save({ ...s, tags: [...tags] });
  });
}

/** Adds tags to this browser's subscriber (for segments). */
export function addTags(tags: string[]): Promise<void> {
  return changeTags(tags, []);
}

/** Removes tags from this browser's subscriber. */
export function removeTags(tags: string[]): Promise<void> {
  return changeTags([], tags);
}

/** Unsubscribes this browser: the browser subscription is dropped and the subscriber marked unsubscribed. */
export function unsubscribe(): Promise<void> {
  return guarded(async () => {
    const s = load();
    // By token: the handle a publishable key may use (it cannot address subscribers by id).
    if (s.token) await callApi(ep, "POST", "/subscribers/unsubscribe", { token: s.token });
    if (!unsupportedReason()) {
      const reg = await navigator.serviceWorker.getRegistration(options!.swPath);
      await (await reg?.pushManager.getSubscription())?.unsubscribe();
    }
    save({ userId: s.userId, identityToken: s.identityToken });
  });
}

/** True when this browser has a push subscription registered with ReachBell. */
export function isSubscribed(): Promise<boolean> {
  return guarded(async () => {
    if (unsupportedReason() || Notification.permission !== "granted" || !load().token) return false;
    const reg = await navigator.serviceWorker.getRegistration(options!.swPath);
    return Boolean(await reg?.pushManager.getSubscription());
  });
}

/** Resolves once init() has been called and its first check is done. */
export function whenReady(): Promise<void> {
  return initialized.then(() => ready);
}

/** The browser's notification permission right now (the default export's `permission` property). */
export const getPermission = (): Permission => currentPermission();

const ReachBell = {
  init,
  prompt,
  identify,
  addTags,
  removeTags,
  unsubscribe,
  isSubscribed,
  whenReady,
  ReachBellError,
  /** The browser's notification permission right now ("default", "granted", "denied" or "unsupported"). */
  get permission(): Permission {
    return currentPermission();
  },
};

export default ReachBell;

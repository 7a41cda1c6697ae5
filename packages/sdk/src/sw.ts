// The ReachBell service worker. Host this file at your site's root (e.g. /reachbell-sw.js; the API
// serves the file to copy at /sdk/reachbell-sw.js), or importScripts() it from your own worker.
// The SDK registers it as /reachbell-sw.js?apiKey=…&apiUrl=…: the worker reads its configuration
// from its own URL (it has no page to ask) and the subscriber's token from IndexedDB.
//
// It shows each push, opens or focuses the click URL, re-registers when the browser replaces the
// subscription, and reports displayed / clicked / dismissed to POST {apiUrl}/events/notifications.

import { type WorkerState, idbGet, idbSet } from "./idb";
import { type Endpoint, base64UrlToBytes, callApi, registerSubscription } from "./shared";

declare const self: ServiceWorkerGlobalScope;

interface Payload {
  title?: string;
  body?: string;
  url?: string | null;
  iconUrl?: string | null;
  imageUrl?: string | null;
  badge?: string | null;
  actions?: { action: string; title: string; url?: string }[];
  messageId?: string;
}

interface NotificationData {
  url: string | null;
  actions: { action: string; title: string; url?: string }[];
  messageId: string | null;
}

const params = new URL(self.location.href).searchParams;
const ep: Endpoint = { apiKey: params.get("apiKey") ?? "", apiUrl: (params.get("apiUrl") ?? self.location.origin).replace(/\/+$/, "") };

type EventType = "displayed" | "clicked" | "dismissed";

/** Reports an engagement event; failures are dropped (the push itself has already happened). */
async function reportEvent(messageId: string | null | undefined, type: EventType, action?: string): Promise<void> {
  if (!messageId || !ep.apiKey) return;
  try {
    const state = await idbGet<WorkerState>("state");
    if (!state?.token) return;
    await callApi(ep, "POST", "/events/notifications", { messageId, token: state.token, type, ...(action ? { action } : {}) });
  } catch {
    /* offline or refused: nothing to retry with */
  }
}

/** Tells the site's open pages (they may listen with navigator.serviceWorker.onmessage). */
async function tellPages(message: { reachbell: EventType; messageId: string | null; action?: string }): Promise<void> {
  for (const c of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) c.postMessage(message);
}

async function show(p: Payload): Promise<void> {
  const data: NotificationData = { url: p.url ?? null, actions: p.actions ?? [], messageId: p.messageId ?? null };
  const options: NotificationOptions & { image?: string; actions?: { action: string; title: string }[] } = {
    body: p.body ?? "",
    data,
    ...(p.messageId ? { tag: p.messageId } : {}),
    ...(p.iconUrl ? { icon: p.iconUrl } : {}),
    ...(p.imageUrl ? { image: p.imageUrl } : {}),
    ...(p.badge ? { badge: p.badge } : {}),
    ...(p.actions?.length ? { actions: p.actions.map((a) => ({ action: a.action, title: a.title })) } : {}),
  };
  await self.registration.showNotification(p.title ?? "", options);
  await Promise.all([reportEvent(p.messageId, "displayed"), tellPages({ reachbell: "displayed", messageId: p.messageId ?? null })]);
}

self.addEventListener("push", (event) => {
  let payload: Payload;
  try {
    payload = (event.data?.json() ?? {}) as Payload;
  } catch {
    payload = { body: event.data?.text() ?? "" };
  }
  event.waitUntil(show(payload));
});

async function openOrFocus(url: string | null | undefined): Promise<void> {
  if (!url) return;
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => w.url === target);
  if (open) await open.focus();
  else await self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  const n = event.notification;
  const data = (n.data ?? {}) as Partial<NotificationData>;
  n.close();
  const action = event.action || undefined;
  const url = (action ? data.actions?.find((a) => a.action === action)?.url : undefined) ?? data.url;
  event.waitUntil(
    Promise.all([openOrFocus(url).catch(() => undefined), reportEvent(data.messageId, "clicked", action), tellPages({ reachbell: "clicked", messageId: data.messageId ?? null, ...(action ? { action } : {}) })]),
  );
});

self.addEventListener("notificationclose", (event) => {
  const data = (event.notification.data ?? {}) as Partial<NotificationData>;
  event.waitUntil(reportEvent(data.messageId, "dismissed"));
});

interface SubscriptionChangeEvent extends ExtendableEvent {
  readonly oldSubscription: PushSubscription | null;
  readonly newSubscription: PushSubscription | null;
}

/** The browser replaced (or dropped) the subscription: subscribe again if needed and register the new one. */
async function resubscribe(event: SubscriptionChangeEvent): Promise<void> {
  let sub = event.newSubscription;
  if (!sub) {
    const key = event.oldSubscription?.options.applicationServerKey ?? base64UrlToBytes((await callApi<{ vapidPublicKey: string }>(ep, "GET", "/sdk/config")).vapidPublicKey);
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const json = sub.toJSON();
  const created = await registerSubscription(ep, { endpoint: json.endpoint, keys: json.keys, userAgent: navigator.userAgent });
  const previous = await idbGet<WorkerState>("state");
  await idbSet("state", { token: created.token, userId: previous?.userId, identityToken: previous?.identityToken } satisfies WorkerState);
  if (previous?.userId) {
    const proof = previous.identityToken ? { identityToken: previous.identityToken } : {};
    await callApi(ep, "POST", "/subscribers/identify", { token: created.token, externalId: previous.userId, ...proof });
  }
  // The page's SDK notices the new endpoint on its next load and adopts this subscriber (409 → the same one).
}

self.addEventListener("pushsubscriptionchange", (event) => {
  const e = event as SubscriptionChangeEvent;
  e.waitUntil(resubscribe(e).catch(() => undefined));
});

// Take over at once: a newly installed worker should show the next push, not wait for every tab to close.
self.addEventListener("install", () => {
  void self.skipWaiting();
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

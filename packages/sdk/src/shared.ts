// What the page SDK and the service worker share: the error type and the API call.

/** An error from the ReachBell API (its envelope's message and requestId) or from the browser. */
export class ReachBellError extends Error {
  /** HTTP status of the API's answer; 0 when the request never got one (network, browser). */
  readonly status: number;
  /** The API's request id (req_…): quote it to support. */
  readonly requestId: string | undefined;
  /** The API's whole error body, when there was one. */
  readonly body: unknown;
  constructor(message: string, opts: { status?: number; requestId?: string | undefined; body?: unknown } = {}) {
    super(message);
    this.name = "ReachBellError";
    this.status = opts.status ?? 0;
    this.requestId = opts.requestId;
    this.body = opts.body;
  }
}

export interface Endpoint {
  apiKey: string;
  apiUrl: string;
}

/** One API call with the x-api-key header; a non-2xx answer throws a ReachBellError from the envelope. */
export async function callApi<T>(ep: Endpoint, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(ep.apiUrl + path, {
      method,
      headers: body === undefined ? { "x-api-key": ep.apiKey } : { "x-api-key": ep.apiKey, "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (e) {
    throw new ReachBellError(`Could not reach the ReachBell API at ${ep.apiUrl}: ${(e as Error).message}`);
  }
  const data = (await res.json().catch(() => undefined)) as any;
  if (!res.ok) {
    throw new ReachBellError(typeof data?.message === "string" ? data.message : `HTTP ${res.status}`, {
      status: res.status,
      requestId: data?.requestId ?? res.headers.get("x-request-id") ?? undefined,
      body: data,
    });
  }
  return data as T;
}

export interface Subscriber {
  id: string;
  token: string;
  projectId: string;
  status: string;
}

/** POST /subscribers; the same endpoint again answers 409 with the existing subscriber, which is what we want. */
export async function registerSubscription(ep: Endpoint, body: Record<string, unknown>): Promise<Subscriber> {
  try {
    return await callApi<Subscriber>(ep, "POST", "/subscribers", body);
  } catch (e) {
    const existing = (e as ReachBellError).status === 409 ? ((e as ReachBellError).body as { subscriber?: Subscriber } | undefined)?.subscriber : undefined;
    if (existing) return existing;
    throw e;
  }
}

export function base64UrlToBytes(s: string): Uint8Array<ArrayBuffer> {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

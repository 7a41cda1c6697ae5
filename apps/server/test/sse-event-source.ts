// A minimal EventSource over fetch, for httpSubscriptionLink in Node 20 (which has no EventSource):
// unlike the browser's, it can send headers (Authorization, x-org-id, x-api-key). It never reconnects.

type Listener = (event: { type: string; data: string; lastEventId: string }) => void;

export class FetchEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;
  readyState = 0;
  readonly withCredentials = false;
  /** The HTTP status of the response, once it has arrived. */
  status: number | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly abort = new AbortController();

  constructor(
    readonly url: string,
    init: { headers?: Record<string, string> } = {},
  ) {
    void this.run(init.headers ?? {});
  }

  addEventListener(type: string, listener: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }

  close(): void {
    this.readyState = 2;
    this.abort.abort();
  }

  private emit(type: string, data = "", lastEventId = ""): void {
    for (const l of this.listeners.get(type) ?? []) l({ type, data, lastEventId });
  }

  private async run(headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(this.url, { headers: { accept: "text/event-stream", ...headers }, signal: this.abort.signal });
      this.status = res.status;
      if (res.status !== 200 || !res.body) {
        this.readyState = 2;
        this.emit("error", await res.text());
        return;
      }
      this.readyState = 1;
      this.emit("open");
      const decoder = new TextDecoder();
      let buffer = "";
      let event = "message";
      let data: string[] = [];
      let id = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
          if (line === "") {
            if (data.length > 0) this.emit(event, data.join("\n"), id);
            event = "message";
            data = [];
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
          else if (field === "id") id = value;
        }
      }
      if (this.readyState !== 2) {
        this.readyState = 2;
        this.emit("error");
      }
    } catch {
      if (this.readyState !== 2) {
        this.readyState = 2;
        this.emit("error");
      }
    }
  }
}

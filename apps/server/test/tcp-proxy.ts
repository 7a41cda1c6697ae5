import { type Server, type Socket, connect, createServer } from "node:net";

/**
 * What the proxy does with connections:
 * - `pass`: forwards both ways to the target;
 * - `refuse`: closes every connection and stops listening, so new ones are refused (ECONNREFUSED);
 * - `blackhole`: a partition — keeps listening and accepting, reads and drops everything on new and
 *   existing connections, never answers, never closes.
 *
 * Leaving `blackhole` closes the connections it swallowed data from (their byte streams are no longer
 * whole); connections opened after it pass normally.
 */
export type ProxyMode = "pass" | "refuse" | "blackhole";

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  swallowed: boolean;
}

/** A TCP proxy on 127.0.0.1 that a test switches between pass, refuse and blackhole. */
export class TcpProxy {
  private mode: ProxyMode = "pass";
  private readonly links = new Set<Link>();
  private server: Server | undefined;

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, 0);
    await proxy.listen();
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = "127.0.0.1";
    u.port = String(this.port);
    return u.toString();
  }

  get current(): ProxyMode {
    return this.mode;
  }

  /** Number of client connections currently open through the proxy. */
  get connections(): number {
    return this.links.size;
  }

  async set(mode: ProxyMode): Promise<void> {
    const previous = this.mode;
    this.mode = mode;
    if (mode === "refuse") {
      await this.stopListening();
      for (const link of [...this.links]) this.drop(link);
      return;
    }
    if (mode === "blackhole") {
      for (const link of this.links) link.swallowed = true;
    } else if (previous === "blackhole") {
      for (const link of [...this.links]) if (link.swallowed) this.drop(link);
    }
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    await this.set("refuse");
  }

  private listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        server.off("error", reject);
        this.server = server;
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    // close() stops accepting at once; its callback waits for the connections, which drop() ends.
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const link of [...this.links]) this.drop(link);
    });
  }

  private accept(client: Socket): void {
    const link: Link = { client, upstream: undefined, swallowed: false };
    this.links.add(link);
    client.on("error", () => {});
    client.on("close", () => this.drop(link));
    if (this.mode !== "pass") {
      // Accepted (the kernel would have), then silence.
      link.swallowed = true;
      client.on("data", () => {});
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    link.upstream = upstream;
    upstream.on("error", () => {});
    upstream.on("close", () => this.drop(link));
    client.on("data", (chunk) => {
      if (!link.swallowed) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!link.swallowed) client.write(chunk);
    });
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }
}

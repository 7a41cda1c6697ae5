import { type Server, request as httpRequest } from "node:http";
import { type Database, type Dialect, createTestDb, testDialects } from "@reachbell/db";
import { afterAll, beforeAll, describe } from "vitest";
import { type App, createApp } from "../src/app";
import { type Config, testConfig } from "../src/env";
import { RECORDING, recordExample } from "./examples-recorder";

export interface TestServer {
  url: string;
  app: App;
  database: Database;
  dialect: Dialect;
  config: Config;
  close(): Promise<void>;
}

/** The real app on a fresh database, listening on a free port of 127.0.0.1. */
export async function startServer(dialect: Dialect, overrides: Partial<Config> = {}, clock?: () => Date): Promise<TestServer> {
  const database = await createTestDb(dialect);
  const config = testConfig(overrides);
  const app = createApp({ database, config, ...(clock ? { clock } : {}) });
  const { server, url } = await app.listen(0, "127.0.0.1");
  return {
    url,
    app,
    database,
    dialect,
    config,
    close: async () => {
      await closeServer(server);
      await app.close();
      await database.destroy();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Runs a suite once per database: SQLite always, PostgreSQL when TEST_DATABASE_URL is set
 * (reported as skipped otherwise). `get()` returns the suite's running server.
 */
export function describeEachDb(name: string, fn: (get: () => TestServer) => void, overrides: Partial<Config> = {}): void {
  for (const d of testDialects()) {
    const suite = d.enabled ? describe : describe.skip;
    suite(`${name} [${d.dialect}]${d.enabled ? "" : ` (skipped: ${d.reason})`}`, () => {
      let server: TestServer | undefined;
      beforeAll(async () => {
        server = await startServer(d.dialect, overrides);
      });
      afterAll(async () => {
        await server?.close();
      });
      fn(() => {
        if (!server) throw new Error("server not started");
        return server;
      });
    });
  }
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Plain HTTP calls, as an integrator makes them. */
export async function call<T = any>(
  server: TestServer,
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string; orgId?: string; apiKey?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers["content-type"] ??= "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.orgId) headers["x-org-id"] = opts.orgId;
  if (opts.apiKey) headers["x-api-key"] = opts.apiKey;
  const res = await fetch(server.url + path, {
    method,
    headers,
    ...(opts.rawBody !== undefined ? { body: opts.rawBody } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (RECORDING) recordExample(method, path, { headers, body: opts.body, rawBody: opts.rawBody }, { status: res.status, body });
  return { status: res.status, headers: res.headers, body };
}

/** A raw HTTP request whose target is sent exactly as written (fetch would normalize `..` and `%2e`). */
export function rawRequest(server: TestServer, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<ApiResponse> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: h, body: parsed });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

let counter = 0;
export const uniqueEmail = (tag = "user") => `${tag}-${Date.now().toString(36)}-${++counter}@example.test`;

export interface Account {
  token: string;
  userId: string;
  orgId: string;
  email: string;
  password: string;
}

/** Registers a user (who becomes OWNER of a new organization) through the API. */
export async function registerAccount(server: TestServer, tag = "user"): Promise<Account> {
  const email = uniqueEmail(tag);
  const password = "correct horse battery";
  const res = await call(server, "POST", "/auth/register", { body: { email, password, name: `Name ${tag}`, organizationName: `Org ${tag}` } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.access_token, userId: res.body.user.id, orgId: res.body.user.organizations[0].id, email, password };
}

/** Asserts the error envelope of SPEC §5 and returns it. */
export function expectEnvelope(res: ApiResponse, status: number, message?: string | RegExp) {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  const b = res.body;
  if (typeof b !== "object" || b === null) throw new Error(`not a JSON envelope: ${String(b)}`);
  if (b.statusCode !== status) throw new Error(`statusCode ${b.statusCode} != ${status}`);
  if (typeof b.requestId !== "string" || !b.requestId.startsWith("req_")) throw new Error(`bad requestId ${b.requestId}`);
  if (b.requestId !== res.headers.get("x-request-id")) throw new Error("requestId differs from x-request-id header");
  if (typeof b.message !== "string") throw new Error("no message");
  if (message !== undefined) {
    const ok = typeof message === "string" ? b.message === message : message.test(b.message);
    if (!ok) throw new Error(`message ${JSON.stringify(b.message)} does not match ${String(message)}`);
  }
  if (/at .+\(.+:\d+:\d+\)|\bselect\b.+\bfrom\b|stack/i.test(JSON.stringify(b))) throw new Error(`envelope leaks internals: ${JSON.stringify(b)}`);
  return b;
}

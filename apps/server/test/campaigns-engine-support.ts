import { randomBytes } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { sql } from "kysely";
import { expect } from "vitest";
import { DEFAULT_FANOUT } from "../src/env";
import { type Account, type TestServer, call } from "./support";

// Helpers for the fan-out engine suites: a queue schema per test server, campaigns through the API,
// waiting on database state, and a push sink whose answers the test can hold back.

/** Fan-out settings for a suite: small chunks and fast ticks; on PostgreSQL a pg-boss schema of its own. */
export function engineConfig(overrides: Partial<typeof DEFAULT_FANOUT> = {}) {
  return {
    logLevel: "warn" as const,
    fanout: { ...DEFAULT_FANOUT, pollMs: 50, sliceMs: 200, stallSeconds: 5, chunkSize: 10, batchSize: 25, sendConcurrency: 4, lanes: 3, chains: 2, queueSchema: `q_${randomBytes(5).toString("hex")}`, ...overrides },
  };
}

/** Stops the engine and drops the suite's pg-boss schema (test-db drops only its own). */
export async function stopEngine(server: TestServer): Promise<void> {
  await server.app.deps.fanout.stop();
  if (server.dialect === "postgres") await sql`drop schema if exists ${sql.id(server.config.fanout.queueSchema)} cascade`.execute(server.database.db);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function createCampaign(server: TestServer, owner: Account, projectId: string, body: Record<string, unknown> = {}) {
  const res = await call(server, "POST", "/campaigns", {
    token: owner.token,
    orgId: owner.orgId,
    body: { projectId, name: "Spring sale", content: { title: "Sale", body: "Everything must go", clickUrl: "https://shop.example/sale" }, segment: { filters: {} }, schedule: { mode: "immediate" }, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; status: string };
}

export const campaignAction = (server: TestServer, owner: Account, id: string, verb: "send" | "pause" | "resume" | "cancel") =>
  call(server, "POST", `/campaigns/${id}/${verb}`, { token: owner.token, orgId: owner.orgId, body: {} });

export const campaignRow = (server: TestServer, id: string) => server.database.db.selectFrom("campaigns").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

export const messageRows = (server: TestServer, campaignId: string) =>
  server.database.db.selectFrom("messages").selectAll().where("campaignId", "=", campaignId).orderBy("id").execute();

export async function waitForStatus(server: TestServer, id: string, status: string, timeoutMs?: number) {
  let last: unknown;
  try {
    return await waitFor(`campaign ${id} ${status}`, async () => {
      const c = await campaignRow(server, id);
      last = c;
      return c.status === status ? c : undefined;
    }, timeoutMs);
  } catch (e) {
    // Say where it stood: the campaign and how its rows are spread over statuses.
    const rows = await messageRows(server, id);
    const spread: Record<string, number> = {};
    for (const r of rows) spread[`${r.status}/${r.reason ?? ""}`] = (spread[`${r.status}/${r.reason ?? ""}`] ?? 0) + 1;
    throw new Error(`${(e as Error).message}: ${JSON.stringify({ campaign: last, rows: spread, sample: rows.slice(0, 2) })}`);
  }
}

/**
 * A push service stand-in that answers 201 but can hold its answers until released, so a test can
 * act (pause, cancel) while sends are provably in flight. Records each request's path once per request.
 */
export async function startGatedSink() {
  const paths: string[] = [];
  let held: (() => void)[] = [];
  let gated = false;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      paths.push(req.url ?? "");
      const answer = () => {
        res.writeHead(201);
        res.end();
      };
      if (gated) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    endpointFor: (id: string) => `http://127.0.0.1:${port}/push/${id}`,
    paths,
    get heldCount() {
      return held.length;
    },
    hold() {
      gated = true;
    },
    release() {
      gated = false;
      const h = held;
      held = [];
      for (const a of h) a();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

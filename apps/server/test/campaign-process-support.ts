import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import http from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, createDb, markSuiteRan, migrateToLatest } from "@reachbell/db";
import { type PeerSubscriber, type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { sql } from "kysely";

// Shared by the campaign process suites (campaigns.crash, campaigns.multi-instance): a database the
// server processes are pointed at, the push-service peer slowed down on demand and able to say which
// process sent each push, an account with N subscribers on that peer, and the campaign's state read
// straight from the database.

export const SECRETS = { JWT_SECRET: "campaign-process-secret-".padEnd(48, "x"), ENCRYPTION_KEY: "ef".repeat(32), VAPID_SUBJECT: "mailto:ops@example.test" };

export interface TargetDatabase {
  /** DATABASE_URL for the server processes. */
  url: string;
  /** A handle for the test's own queries. */
  open(): Database;
  drop(): Promise<void>;
}

/**
 * A file SQLite database, or on PostgreSQL a database of its own inside TEST_DATABASE_URL's server
 * (not a schema: the job queue keeps its tables in a schema of its own, which parallel runs must not
 * share), migrated before any server starts so that instances never migrate concurrently.
 */
export async function targetDatabase(dialect: "sqlite" | "postgres"): Promise<TargetDatabase> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "reachbell-campaign-"));
    const file = join(dir, "reachbell.db");
    return { url: file, open: () => createDb(file), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `rb_cmp_${randomBytes(5).toString("hex")}`;
  const admin = createDb(adminUrl, { poolSize: 1 });
  try {
    await sql`create database ${sql.id(name)}`.execute(admin.db);
  } finally {
    await admin.destroy();
  }
  markSuiteRan("postgres");
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = createDb(url, { poolSize: 1 });
  try {
    await migrateToLatest(database.db, database.dialect);
  } finally {
    await database.destroy();
  }
  return {
    url,
    open: () => createDb(url, { poolSize: 2 }),
    drop: async () => {
      const a = createDb(adminUrl, { poolSize: 1 });
      await sql`drop database if exists ${sql.id(name)} with (force)`.execute(a.db).catch(() => {});
      await a.destroy();
    },
  };
}

export interface SlowPeer {
  peer: PushServicePeer;
  /** Each request is handled (checked, decrypted, recorded, answered) this many ms after it arrived; 0 = at once. */
  delayMs: number;
  /** Requests arrived but not handled yet. */
  readonly waiting: number;
  /** The pid of the process that sent each received push, in the order of `peer.received` (when `pids` were given). */
  senders: (number | undefined)[];
  /** Processes whose pushes are attributed (their sockets are looked up in /proc). */
  pids: number[];
}

/**
 * The push-service peer of @reachbell/push/testing (VAPID, headers and encryption checked, each push
 * decrypted as the browser would), its handling of each request delayed by `delayMs` so a campaign
 * is still under way when the test kills the server. The delay is put in front of the peer's request
 * handler (node:http's createServer is wrapped while the peer starts): a request that arrived before
 * the sender died is still handled and recorded, as a real push service would deliver it.
 */
export async function startSlowPeer(delayMs: number): Promise<SlowPeer> {
  const original = http.createServer;
  const state: SlowPeer = {
    peer: undefined as unknown as PushServicePeer,
    delayMs,
    waiting: 0,
    senders: [],
    pids: [],
  };
  let waiting = 0;
  const owners = new WeakMap<Socket, number | undefined>();
  const wrap =
    (handler: http.RequestListener): http.RequestListener =>
    (req, res) => {
      if (state.pids.length > 0 && !owners.has(req.socket)) owners.set(req.socket, socketOwner(req.socket.remotePort, state.pids));
      const handle = () => {
        // The peer records a push in its "end" listener, synchronously: whatever it appended between
        // a listener just before its own and one just after is this request's push.
        let before = 0;
        req.prependOnceListener("end", () => (before = state.peer.received.length));
        handler(req, res);
        req.once("end", () => {
          for (let i = before; i < state.peer.received.length; i++) state.senders[i] = owners.get(req.socket);
        });
      };
      if (state.delayMs <= 0) return handle();
      waiting++;
      setTimeout(() => {
        waiting--;
        handle();
      }, state.delayMs);
    };
  (http as { createServer: unknown }).createServer = ((...args: unknown[]) =>
    (original as (...a: unknown[]) => http.Server)(...args.map((a) => (typeof a === "function" ? wrap(a as http.RequestListener) : a)))) as typeof http.createServer;
  try {
    state.peer = await startPushServicePeer();
  } finally {
    (http as { createServer: unknown }).createServer = original;
  }
  Object.defineProperty(state, "waiting", { get: () => waiting });
  return state;
}

/** Which of `pids` owns the client end of a loopback TCP connection whose port is `port` (/proc/net/tcp + /proc/<pid>/fd). */
function socketOwner(port: number | undefined, pids: number[]): number | undefined {
  if (port === undefined) return undefined;
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let inode: string | undefined;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`)) inode = f[9];
    }
    if (inode) break;
  }
  if (!inode) return undefined;
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return undefined;
}

export async function request(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method, headers: { "content-type": "application/json", ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export interface Audience {
  apiKey: string;
  projectId: string;
  /** The peer's subscribers, by the subscriber id the server gave each. */
  bySubscriberId: Map<string, PeerSubscriber>;
}

/** An account, a live project, an API key and `n` subscribers on the peer, through the API (a few requests at a time). */
export async function createAudience(url: string, peer: PushServicePeer, n: number): Promise<Audience> {
  const reg = await request(`${url}/auth/register`, "POST", { email: `campaign-${randomBytes(5).toString("hex")}@example.test`, password: "correct horse battery", name: "C", organizationName: "C" });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const auth = { authorization: `Bearer ${reg.body.access_token}`, "x-org-id": reg.body.user.organizations[0].id };
  const project = await request(`${url}/projects`, "POST", { name: "campaign", environment: "live" }, auth);
  const key = await request(`${url}/projects/${project.body.id}/api-keys`, "POST", { name: "k" }, auth);
  const apiKey: string = key.body.key;
  const bySubscriberId = new Map<string, PeerSubscriber>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const s = peer.createSubscriber(`r${next++}`);
        const res = await request(`${url}/subscribers`, "POST", { endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth }, { "x-api-key": apiKey });
        if (res.status !== 201) throw new Error(`subscriber: ${res.status} ${JSON.stringify(res.body)}`);
        bySubscriberId.set(res.body.id, s);
      }
    }),
  );
  return { apiKey, projectId: project.body.id, bySubscriberId };
}

/** The campaign's message rows counted by status, straight from the database. */
export async function messageCounts(database: Database, campaignId: string): Promise<Record<string, number>> {
  const rows = await database.db.selectFrom("messages").select(["status", (eb) => eb.fn.countAll<number | string>().as("n")]).where("campaignId", "=", campaignId).groupBy("status").execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Pushes received per peer subscriber id (campaign pushes only: the title tells them apart). */
export function receivedPerRecipient(peer: PushServicePeer, title: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of peer.received) if ((r.payload as { title?: string } | null)?.title === title) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  return counts;
}

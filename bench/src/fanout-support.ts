// Shared by bench/fanout.ts and bench/segment-count.ts: the real server as `pnpm start` runs it
// (apps/server/dist/main.js under plain node, its own process), a fresh database of each kind,
// fast seeding of subscribers straight into it, /proc readings of a process, and small statistics.
import { type ChildProcess, spawn } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, createDb, migrateToLatest, newId } from "@reachbell/db";
import pg from "pg";

const SERVER_MAIN = fileURLToPath(new URL("../../apps/server/dist/main.js", import.meta.url));

// ---------------------------------------------------------------- arguments

/** `--name value` or `--name=value`, else the environment variable, else the fallback. */
export function arg(name: string, env: string, fallback: string): string {
  const argv = process.argv;
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1]!;
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  return process.env[env] ?? fallback;
}

/** Which databases to run on: SQLite always (unless --db postgres), PostgreSQL when BENCH_DATABASE_URL is set. */
export function databases(): ("sqlite" | "postgres")[] {
  const only = arg("db", "BENCH_DB", "");
  const all: ("sqlite" | "postgres")[] = process.env.BENCH_DATABASE_URL ? ["sqlite", "postgres"] : ["sqlite"];
  return only ? all.filter((d) => d === only) : all;
}

// ---------------------------------------------------------------- databases

export interface BenchDatabase {
  dialect: "sqlite" | "postgres";
  /** DATABASE_URL for the server process. */
  url: string;
  open(): Database;
  /** After seeding: VACUUM ANALYZE on PostgreSQL (statistics and the visibility map, as autovacuum would leave them). */
  analyze(): Promise<void>;
  drop(): Promise<void>;
}

/** A fresh SQLite file, or a fresh PostgreSQL database inside BENCH_DATABASE_URL's server (dropped by drop()). */
export async function freshDatabase(dialect: "sqlite" | "postgres"): Promise<BenchDatabase> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "reachbell-fanout-"));
    const file = join(dir, "bench.db");
    return { dialect, url: `file:${file}`, open: () => createDb(`file:${file}`), analyze: async () => {}, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = process.env.BENCH_DATABASE_URL;
  if (!admin) throw new Error("BENCH_DATABASE_URL is not set");
  const name = `rb_bench_${randomBytes(5).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    dialect,
    url,
    open: () => createDb(url),
    analyze: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      // VACUUM too: a table bulk-loaded a moment ago has no visibility map yet (autovacuum would build it), so index-only scans would visit the heap.
      await c.query("vacuum analyze");
      await c.end();
    },
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await c.end();
    },
  };
}

export async function migrate(target: BenchDatabase): Promise<void> {
  const database = target.open();
  try {
    await migrateToLatest(database.db, database.dialect);
  } finally {
    await database.destroy();
  }
}

const DEVICE_TYPES = ["desktop", "mobile", "tablet"];
const COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"];
const LANGUAGES = ["en-US", "de-DE", "fr-FR", "es-ES", "en-GB"];
const BROWSERS = [
  ["Chrome", "Windows"],
  ["Safari", "Mac OS"],
  ["Firefox", "Linux"],
  ["Chrome", "Android"],
  ["Mobile Safari", "iOS"],
];

/**
 * `n` active subscribers of `projectId`, straight into the database, many rows per statement and
 * many statements per transaction (pass `postgresUrl` on PostgreSQL: it inserts from arrays). Endpoints are `${origin}/push/<i>` (unique per project, as
 * the schema wants); every row shares one valid P-256 key pair and auth secret (the sink never
 * decrypts). Attributes vary (device type, country, language, browser, last seen) so segments
 * select a real share of them.
 */
export async function seedSubscribers(database: Database, projectId: string, n: number, origin: string, log: (s: string) => void, postgresUrl?: string): Promise<number> {
  const ecdh = createECDH("prime256v1");
  const p256dh = ecdh.generateKeys().toString("base64url");
  const auth = randomBytes(16).toString("base64url");
  const now = Date.now();
  const row = (i: number) => {
    const [browser, os] = BROWSERS[i % BROWSERS.length]!;
    const created = new Date(now - (n - i) * 1000).toISOString();
    return {
      id: newId("sub"),
      projectId,
      token: newId("tok"),
      endpoint: `${origin}/push/${i}`,
      p256dh,
      auth,
      externalId: null,
      status: "active" as const,
      userAgent: null,
      browser: browser!,
      os: os!,
      deviceType: DEVICE_TYPES[i % DEVICE_TYPES.length]!,
      timezone: null,
      language: LANGUAGES[i % LANGUAGES.length]!,
      country: COUNTRIES[i % COUNTRIES.length]!,
      city: null,
      createdAt: created,
      updatedAt: created,
      lastSeenAt: new Date(now - (i % 60) * 86_400_000).toISOString(),
    };
  };
  const t0 = performance.now();
  let lastLog = t0;
  const progress = (done: number) => {
    if (performance.now() - lastLog < 5_000) return;
    lastLog = performance.now();
    log(`    seeded ${done.toLocaleString("en")} / ${n.toLocaleString("en")}`);
  };
  if (postgresUrl) {
    // PostgreSQL: one INSERT … SELECT FROM unnest(arrays) per 10,000 rows (a handful of parameters
    // instead of 19 per row), 100,000 rows per transaction.
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const text = ["id", "project_id", "token", "endpoint", "p256dh", "auth", "status", "browser", "os", "device_type", "language", "country"];
      const times = ["created_at", "updated_at", "last_seen_at"];
      const statement = `insert into subscribers (${[...text, ...times].join(", ")}) select ${[...text, ...times.map((t) => `${t}::timestamptz`)].join(", ")} from unnest(${[...text, ...times].map((_, i) => `$${i + 1}::text[]`).join(", ")}) as t(${[...text, ...times].join(", ")})`;
      for (let done = 0; done < n; ) {
        await client.query("begin");
        const end = Math.min(n, done + 100_000);
        for (let from = done; from < end; from += 10_000) {
          const cols: string[][] = Array.from({ length: text.length + times.length }, () => []);
          for (let i = from; i < Math.min(end, from + 10_000); i++) {
            const r = row(i);
            const values = [r.id, r.projectId, r.token, r.endpoint, r.p256dh, r.auth, r.status, r.browser, r.os, r.deviceType, r.language, r.country, r.createdAt, r.updatedAt, r.lastSeenAt];
            for (let c = 0; c < values.length; c++) cols[c]!.push(values[c]!);
          }
          await client.query(statement, cols);
        }
        await client.query("commit");
        done = end;
        progress(done);
      }
    } finally {
      await client.end();
    }
    return (performance.now() - t0) / 1000;
  }
  // SQLite: 1,000 rows per INSERT (19 parameters each, under the 32,766 limit), 50,000 per transaction.
  for (let done = 0; done < n; ) {
    const end = Math.min(n, done + 50_000);
    await database.db.transaction().execute(async (trx) => {
      for (let from = done; from < end; from += 1_000) {
        const rows = [];
        for (let i = from; i < Math.min(end, from + 1_000); i++) rows.push(row(i));
        await trx.insertInto("subscribers").values(rows).execute();
      }
    });
    done = end;
    progress(done);
  }
  return (performance.now() - t0) / 1000;
}

// ---------------------------------------------------------------- the server process

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** The last lines of output, for error messages. */
  tail(): string;
  /** warn/error log lines seen so far. */
  problems: string[];
  stop(): Promise<void>;
}

/** Production-like environment (NODE_ENV aside): secrets, limits out of the way, loopback push endpoints over self-signed TLS. */
export function serverEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const passThrough = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(CAMPAIGN|FANOUT)_/.test(k))) as Record<string, string>;
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    // Not "production": the server refuses PUSH_ALLOW_INSECURE_ENDPOINTS there, and the sink is on
    // loopback. NODE_ENV only decides how strictly secrets are checked (all are given here).
    NODE_ENV: "development",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    VAPID_SUBJECT: "mailto:bench@reachbell.test",
    RATE_LIMIT_DEFAULT: "1000000",
    RATE_LIMIT_INGEST: "1000000",
    RATE_LIMIT_AUTH: "1000000",
    // The sink is https://127.0.0.1 with a throwaway self-signed certificate.
    PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
    NODE_TLS_REJECT_UNAUTHORIZED: "0",
    NODE_NO_WARNINGS: "1",
    ...passThrough,
    ...extra,
  };
}

/** `node apps/server/dist/main.js` (built by the bench's script first), waiting for its "listening" line. */
export function startServer(env: Record<string, string>, timeoutMs = 120_000): Promise<ServerProcess> {
  const cwd = mkdtempSync(join(tmpdir(), "reachbell-bench-cwd-"));
  // BENCH_PROFILE_DIR: a V8 CPU profile of the whole server process, written when it exits.
  const profile = process.env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, SERVER_MAIN], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const problems: string[] = [];
  let partial = "";
  const onText = (text: string) => {
    const parts = (partial + text).split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      lines.push(p);
      if (lines.length > 50) lines.shift();
      if (/"level":"(warn|error)"/.test(p) && problems.length < 200) problems.push(p);
    }
  };
  child.stdout!.on("data", (d: Buffer) => onText(d.toString()));
  child.stderr!.on("data", (d: Buffer) => onText(d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server did not start:\n${lines.join("\n")}`));
    }, timeoutMs);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the server exited before listening:\n${lines.join("\n")}`));
    });
    const check = setInterval(() => {
      const line = lines.find((l) => l.includes('"msg":"listening"'));
      if (!line) return;
      clearInterval(check);
      clearTimeout(timer);
      resolve({
        url: JSON.parse(line).url as string,
        pid: child.pid!,
        child,
        tail: () => lines.join("\n"),
        problems,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
          child.kill("SIGTERM");
          await exited;
          clearTimeout(kill);
          rmSync(cwd, { recursive: true, force: true });
        },
      });
    }, 20);
    void exited.then(() => clearInterval(check));
  });
}

// ---------------------------------------------------------------- /proc

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** user + system CPU seconds of a process so far (all threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command name: state is field 3; utime 14 and stime 15 (1-based) → 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Current and peak resident set size in MB, from /proc/<pid>/status. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

// ---------------------------------------------------------------- HTTP

export async function api(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(url + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** An account, a live project and an API key, through the public API. */
export async function provision(url: string): Promise<{ apiKey: string; projectId: string }> {
  const email = `bench-${randomBytes(6).toString("hex")}@reachbell.test`;
  const reg = await api(url, "POST", "/auth/register", { email, password: "bench password 1", name: "Bench", organizationName: "Bench" });
  const auth = { authorization: `Bearer ${reg.access_token}`, "x-org-id": reg.user.organizations[0].id };
  const project = await api(url, "POST", "/projects", { name: "Bench", environment: "live" }, auth);
  const key = await api(url, "POST", `/projects/${project.id}/api-keys`, { name: "bench" }, auth);
  return { apiKey: key.key, projectId: project.id };
}

// ---------------------------------------------------------------- statistics and output

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export const median = (xs: number[]) => quantile(xs, 0.5);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}

/** The machine the figures were taken on. */
export function machine(): Record<string, unknown> {
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  return { node: process.version, cpus: cpus().length, loadAverage: load };
}

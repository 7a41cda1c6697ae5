// `pnpm bench`: measures ReachBell's hot routes against raw node:http and bare Express, in one run,
// with autocannon at fixed concurrency. Servers run as child processes on 127.0.0.1 (the load
// generator must not share their event loop); SQLite always, PostgreSQL when BENCH_DATABASE_URL is set.
//
//   BENCH_DURATION=8 (seconds per scenario)  BENCH_CONNECTIONS=50  BENCH_WARMUP=2
//   BENCH_PUSH=0 skips the push build rate; BENCH_ONLY=push runs only it (see push.ts for its own knobs);
//   BENCH_PROFILE_DIR=/tmp/x writes a CPU profile of each measured ReachBell run and push contender there
//   (open it in Chrome DevTools or speedscope).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import pg from "pg";
import { type Target, startTarget } from "./children";
import { type Load, type Scenario, baselines, reachbellScenarios } from "./scenarios";

const duration = Number(process.env.BENCH_DURATION ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);

interface Measured {
  name: string;
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
  aim?: number | undefined;
}

/** Environment of a server child: production mode, quiet, fresh secrets, limits out of the way. */
function serverEnv(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: "production",
    LOG_LEVEL: "silent",
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    VAPID_SUBJECT: "mailto:bench@reachbell.test",
    // The limiter still runs (its cost is part of every request) but never refuses the load.
    RATE_LIMIT_DEFAULT: "1000000",
    RATE_LIMIT_INGEST: "1000000",
    RATE_LIMIT_AUTH: "1000000",
    ...(process.env.BENCH_PROFILE_DIR ? { BENCH_PROFILE_DIR: process.env.BENCH_PROFILE_DIR } : {}),
  };
}

async function fire(url: string, { path = "/", ...opts }: Load, seconds: number) {
  return autocannon({ url: url + path, connections, duration: seconds, pipelining: 1, ...opts });
}

async function measure(scenario: Scenario, target: Target): Promise<Measured> {
  const opts = await scenario.prepare(target.url);
  if (warmup > 0) await fire(target.url, opts, warmup);
  await target.profile("start", scenario.name);
  const r = await fire(target.url, opts, duration);
  await target.profile("stop", scenario.name);
  const m = { name: scenario.name, rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, aim: scenario.aim };
  process.stderr.write(`  ${m.name}: ${Math.round(m.rps)} req/s, p99 ${m.p99} ms${m.non2xx || m.errors ? ` (${m.non2xx} non-2xx, ${m.errors} errors)` : ""}\n`);
  return m;
}

async function withTarget<T>(name: string, env: NodeJS.ProcessEnv, fn: (t: Target) => Promise<T>): Promise<T> {
  const target = await startTarget(name, env);
  try {
    return await fn(target);
  } finally {
    await target.stop();
  }
}

async function measureReachbell(databaseUrl: string): Promise<Measured[]> {
  const out: Measured[] = [];
  // A fresh server (and database) per scenario, so one scenario's rows do not slow the next.
  for (const s of reachbellScenarios) out.push(await withTarget("reachbell", { ...serverEnv(databaseUrl), ...s.env }, (t) => measure(s, t)));
  return out;
}

/** A throwaway schema inside BENCH_DATABASE_URL, selected through the connection's search_path. */
async function withPgSchema<T>(url: string, fn: (schemaUrl: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const u = new URL(url);
  u.searchParams.set("options", `-c search_path=${schema}`);
  try {
    return await fn(u.toString());
  } finally {
    await admin.query(`drop schema ${schema} cascade`).catch(() => {});
    await admin.end();
  }
}

function table(title: string, rows: Measured[], base: { node: Measured; express: Measured }): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const header = ["scenario", "req/s", "p99 ms", "vs node:http", "vs Express", "aim (vs Express)"];
  const lines = rows.map((r) => {
    const vsExpress = r.rps / base.express.rps;
    const aim = r.aim === undefined ? "" : `${vsExpress >= r.aim ? "met" : "MISSED"} (≥ ${pct(r.aim)})`;
    const note = r.non2xx || r.errors ? ` [${r.non2xx} non-2xx, ${r.errors} errors]` : "";
    return [r.name + note, Math.round(r.rps).toString(), r.p99.toFixed(1), pct(r.rps / base.node.rps), pct(vsExpress), aim];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [`\n${title}`, fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n");
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === "push") {
    // Just the push build rate: it needs no server, database or HTTP baselines.
    const { benchPush, formatPushTable } = await import("../push");
    process.stdout.write(`${formatPushTable(await benchPush())}\n`);
    return;
  }
  process.stderr.write(`ReachBell bench: ${connections} connections, ${duration} s per scenario (+${warmup} s warm-up), node ${process.version}\n`);
  const [nodeScenario, expressScenario] = baselines as [Scenario, Scenario];
  const node = await withTarget("node-http", { PATH: process.env.PATH }, (t) => measure(nodeScenario, t));
  const express = await withTarget("express", { PATH: process.env.PATH, NODE_ENV: "production" }, (t) => measure(expressScenario, t));
  const base = { node, express };
  const report: string[] = [table("Baselines", [node, express], base)];

  const dir = mkdtempSync(join(tmpdir(), "reachbell-bench-"));
  try {
    process.stderr.write("SQLite\n");
    report.push(table("ReachBell on SQLite (file, WAL)", await measureReachbell(`file:${join(dir, "bench.db")}`), base));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pgUrl = process.env.BENCH_DATABASE_URL;
  if (pgUrl) {
    process.stderr.write("PostgreSQL\n");
    report.push(table("ReachBell on PostgreSQL", await withPgSchema(pgUrl, measureReachbell), base));
  } else {
    report.push("\n(PostgreSQL skipped: set BENCH_DATABASE_URL=postgres://… to measure it too)");
  }
  // Later scenarios that are not HTTP routes: the push build rate (bench/push.ts), BENCH_PUSH=0 skips it.
  if (process.env.BENCH_PUSH !== "0") {
    process.stderr.write("Push build rate\n");
    try {
      const { benchPush, formatPushTable } = await import("../push");
      report.push(formatPushTable(await benchPush()));
    } catch (e) {
      report.push(`\n(push build rate failed: ${e instanceof Error ? e.message : String(e)})`);
    }
  }
  process.stdout.write(`${report.join("\n")}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

// `pnpm bench`: measures ReachBell's hot routes against raw node:http and bare Express, in one run,
// with autocannon at fixed concurrency. Servers run as child processes on 127.0.0.1 (the load
// generator must not share their event loop); SQLite always, PostgreSQL when BENCH_DATABASE_URL is set.
//
//   BENCH_DURATION=6 (seconds per sample)  BENCH_ROUNDS=3  BENCH_CONNECTIONS=50  BENCH_WARMUP=2  BENCH_LOG_LEVEL=info
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

const duration = Number(process.env.BENCH_DURATION ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

interface Measured {
  name: string;
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
  aim?: number | undefined;
  /** Per round: this scenario's req/s over the Express sample paired with it. */
  ratios?: number[];
}

/** Environment of a server child: production mode and logging (stdout discarded), fresh secrets, limits out of the way. */
function serverEnv(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: "production",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
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

interface Sample {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function sample(url: string, opts: Load): Promise<Sample> {
  const r = await fire(url, opts, duration);
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function summarize(name: string, samples: Sample[], extra: Partial<Measured> = {}): Measured {
  return {
    name,
    rps: median(samples.map((x) => x.rps)),
    p99: median(samples.map((x) => x.p99)),
    non2xx: samples.reduce((n, x) => n + x.non2xx, 0),
    errors: samples.reduce((n, x) => n + x.errors, 0),
    ...extra,
  };
}

const logSample = (name: string, x: Sample) =>
  process.stderr.write(`  ${name}: ${Math.round(x.rps)} req/s, p99 ${x.p99} ms${x.non2xx || x.errors ? ` (${x.non2xx} non-2xx, ${x.errors} errors)` : ""}\n`);

/** A baseline server kept running for the whole run, so each ReachBell round can be paired with a fresh sample of it. */
interface Baseline {
  scenario: Scenario;
  target: Target;
  opts: Load;
  samples: Sample[];
}

async function takeBaseline(b: Baseline): Promise<Sample> {
  const x = await sample(b.target.url, b.opts);
  b.samples.push(x);
  logSample(b.scenario.name, x);
  return x;
}

/**
 * `rounds` rounds, each a bare-Express sample and a sample of the scenario back to back (alternating
 * which goes first). This machine's speed drifts by tens of percent between minutes, so the verdict is
 * the median of the rounds' paired ratios, not one run divided by a baseline taken minutes earlier.
 */
async function measure(scenario: Scenario, target: Target, express: Baseline): Promise<Measured> {
  const opts = await scenario.prepare(target.url);
  if (warmup > 0) await fire(target.url, opts, warmup);
  const own: Sample[] = [];
  const ratios: number[] = [];
  const measureOwn = async (round: number) => {
    await target.profile("start", `${scenario.name} round ${round}`);
    const x = await sample(target.url, opts);
    await target.profile("stop", `${scenario.name} round ${round}`);
    logSample(scenario.name, x);
    return x;
  };
  for (let round = 1; round <= rounds; round++) {
    let base: Sample;
    let x: Sample;
    if (round % 2) {
      base = await takeBaseline(express);
      x = await measureOwn(round);
    } else {
      x = await measureOwn(round);
      base = await takeBaseline(express);
    }
    own.push(x);
    ratios.push(x.rps / base.rps);
  }
  return summarize(scenario.name, own, { aim: scenario.aim, ratios });
}

async function withTarget<T>(name: string, env: NodeJS.ProcessEnv, fn: (t: Target) => Promise<T>): Promise<T> {
  const target = await startTarget(name, env);
  try {
    return await fn(target);
  } finally {
    await target.stop();
  }
}

async function measureReachbell(databaseUrl: string, express: Baseline): Promise<Measured[]> {
  const out: Measured[] = [];
  // A fresh server (and database) per scenario, so one scenario's rows do not slow the next.
  for (const s of reachbellScenarios) out.push(await withTarget("reachbell", { ...serverEnv(databaseUrl), ...s.env }, (t) => measure(s, t, express)));
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
    const vsExpress = r.ratios ? median(r.ratios) : r.rps / base.express.rps;
    const aim = r.aim === undefined ? "" : `${vsExpress >= r.aim ? "met" : "MISSED"} (≥ ${pct(r.aim)})`;
    const note = r.non2xx || r.errors ? ` [${r.non2xx} non-2xx, ${r.errors} errors]` : "";
    return [r.name + note, Math.round(r.rps).toString(), r.p99.toFixed(1), pct(r.rps / base.node.rps), pct(vsExpress), aim];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const rounds = rows.filter((r) => r.ratios).map((r) => `  ${r.name}: ${r.ratios!.map(pct).join(", ")}`);
  return [
    `\n${title}`,
    fmt(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.map(fmt),
    ...(rounds.length ? ["vs Express by round (each paired with an Express sample taken back to back; the column above is their median):", ...rounds] : []),
  ].join("\n");
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === "push") {
    // Just the push build rate: it needs no server, database or HTTP baselines.
    const { benchPush, formatPushTable } = await import("../push");
    process.stdout.write(`${formatPushTable(await benchPush())}\n`);
    return;
  }
  process.stderr.write(
    `ReachBell bench: ${connections} connections, ${duration} s per sample (+${warmup} s warm-up), ${rounds} rounds, node ${process.version}\n`,
  );
  const [nodeScenario, expressScenario] = baselines as [Scenario, Scenario];
  const node = await withTarget("node-http", { PATH: process.env.PATH }, async (t) => {
    const opts = await nodeScenario.prepare(t.url);
    if (warmup > 0) await fire(t.url, opts, warmup);
    const samples: Sample[] = [];
    for (let round = 1; round <= rounds; round++) samples.push(await sample(t.url, opts));
    samples.forEach((x) => logSample(nodeScenario.name, x));
    return summarize(nodeScenario.name, samples);
  });
  const expressTarget = await startTarget("express", { PATH: process.env.PATH, NODE_ENV: "production" });
  const report: string[] = [];
  try {
    const express: Baseline = { scenario: expressScenario, target: expressTarget, opts: await expressScenario.prepare(expressTarget.url), samples: [] };
    if (warmup > 0) await fire(expressTarget.url, express.opts, warmup);
    await takeBaseline(express);
    const base = () => ({ node, express: summarize(expressScenario.name, express.samples) });
    const sections: string[] = [];

    const dir = mkdtempSync(join(tmpdir(), "reachbell-bench-"));
    try {
      process.stderr.write("SQLite\n");
      sections.push(table("ReachBell on SQLite (file, WAL)", await measureReachbell(`file:${join(dir, "bench.db")}`, express), base()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const pgUrl = process.env.BENCH_DATABASE_URL;
    if (pgUrl) {
      process.stderr.write("PostgreSQL\n");
      sections.push(table("ReachBell on PostgreSQL", await withPgSchema(pgUrl, (u) => measureReachbell(u, express)), base()));
    } else {
      sections.push("\n(PostgreSQL skipped: set BENCH_DATABASE_URL=postgres://… to measure it too)");
    }
    // Baselines: medians over every sample taken in this run.
    report.push(table("Baselines (medians of every sample in this run)", [node, base().express], base()), ...sections);
  } finally {
    await expressTarget.stop();
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

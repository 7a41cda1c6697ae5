// Campaign fan-out: N subscribers (default 1,000,000) reached through the real server, against the
// obvious implementation, in the same run, on SQLite (a file) and on PostgreSQL (a fresh database,
// when BENCH_DATABASE_URL is set).
//
//   pnpm --filter @reachbell/bench fanout [--n 1000000] [--db sqlite|postgres] [--concurrency 50]
//
// Processes, so each figure counts only what it claims to:
//  - the sink (bench/push.ts --sink): HTTPS on 127.0.0.1, answers 201 to every push, never decrypts;
//    its CPU is not counted;
//  - the server: apps/server/dist/main.js under plain node (the build `pnpm start` serves), its
//    own process; its CPU (user + system, all threads) and peak RSS are read from /proc/<pid>;
//  - the baseline (`fanout.ts --baseline`): its own process on the same database and sink, paging
//    through the project's active subscribers with Kysely (keyset, 1,000 a page) and calling
//    web-push's sendNotification with bounded concurrency; CPU from /proc the same way;
//  - this parent: seeds the database, creates the campaign over the REST API, and samples /healthz
//    (every 100 ms) and a transactional send (one at a time, 100 ms apart) while it runs.
// The baseline only pages and sends: it writes no message row, applies no policy, keeps no durable
// state; the server does all of that, so the ratio is conservative.
// The baseline sends to the first --baseline-n recipients (default 20,000: web-push manages a few
// hundred a second here, so a million would take over an hour); its figures are rates.
// Knobs: --n / BENCH_FANOUT_N, --baseline-n / BENCH_FANOUT_BASELINE_N, --db / BENCH_DB, --concurrency / BENCH_FANOUT_CONCURRENCY (baseline),
// BENCH_FANOUT_TIMEOUT (s, default 3600), BENCH_SKIP_BASELINE=1; CAMPAIGN_* and FANOUT_* variables
// are passed to the server (the engine's settings).
import { fork } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createDb } from "@reachbell/db";
import { startSink } from "./push";
import {
  type ServerProcess,
  api,
  arg,
  cpuSeconds,
  databases,
  formatTable,
  freshDatabase,
  machine,
  memoryMb,
  migrate,
  provision,
  quantile,
  seedSubscribers,
  serverEnv,
  sleep,
  startServer,
} from "./src/fanout-support";

const N = Number(arg("n", "BENCH_FANOUT_N", "1000000"));
const CONCURRENCY = Number(arg("concurrency", "BENCH_FANOUT_CONCURRENCY", "50"));
/** web-push manages about 250 msg/s here: a million would take over an hour, and a rate needs no million. */
const BASELINE_N = Math.min(N, Number(arg("baseline-n", "BENCH_FANOUT_BASELINE_N", "20000")));
const TIMEOUT_S = Number(process.env.BENCH_FANOUT_TIMEOUT ?? 3600);
const PROBES = 20;
const IDLE_SENDS = 200;
const CONTENT = { title: "Winter sale", body: "Everything 20% off until Sunday", clickUrl: "https://shop.example/sale", iconUrl: "https://shop.example/icon.png" };
const log = (s: string) => process.stderr.write(`${s}\n`);

interface BaselineJob {
  databaseUrl: string;
  projectId: string;
  concurrency: number;
  /** Recipients to send to (the first ones in id order): the baseline's rates do not need the whole audience. */
  limit: number;
  payload: string;
  vapid: { publicKey: string; privateKey: string; subject: string };
}

interface BaselineReport {
  sent: number;
  errors: number;
  firstError?: string;
}

// ---------------------------------------------------------------- the baseline process

async function runBaseline(job: BaselineJob): Promise<BaselineReport> {
  const { default: webpush } = await import("web-push");
  const database = createDb(job.databaseUrl);
  const options = { vapidDetails: job.vapid, TTL: 86_400 };
  let cursor = "";
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  try {
    while (sent + errors < job.limit) {
      const page = await database.db
        .selectFrom("subscribers")
        .select(["id", "endpoint", "p256dh", "auth"])
        .where("projectId", "=", job.projectId)
        .where("status", "=", "active")
        .where("id", ">", cursor)
        .orderBy("id")
        .limit(Math.min(1000, job.limit - sent - errors))
        .execute();
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.id;
      let next = 0;
      await Promise.all(
        Array.from({ length: job.concurrency }, async () => {
          while (next < page.length) {
            const s = page[next++]!;
            try {
              await webpush.sendNotification({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, job.payload, options);
              sent++;
            } catch (e) {
              errors++;
              firstError ??= e instanceof Error ? e.message : String(e);
            }
          }
        }),
      );
    }
  } finally {
    await database.destroy();
  }
  return { sent, errors, ...(firstError ? { firstError } : {}) };
}

interface Measured {
  messages: number;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

/** The baseline in its own process: CPU and peak RSS from /proc over exactly the send window. */
function measureBaseline(job: BaselineJob): Promise<Measured & BaselineReport> {
  const child = fork(fileURLToPath(import.meta.url), ["--baseline"], {
    env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: "0", NODE_NO_WARNINGS: "1" },
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let cpu0 = 0;
    let t0 = 0;
    child.on("message", (m: { ready?: boolean; report?: BaselineReport; error?: string }) => {
      if (m.ready) {
        cpu0 = cpuSeconds(child.pid!);
        t0 = performance.now();
        child.send({ go: true });
      } else if (m.report) {
        const wallSeconds = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(child.pid!) - cpu0;
        const peakRssMb = memoryMb(child.pid!).peak;
        child.send({ exit: true });
        resolve({ ...m.report, messages: m.report.sent, wallSeconds, cpuSeconds: cpu, peakRssMb });
      } else if (m.error) reject(new Error(`baseline: ${m.error}`));
    });
    child.once("exit", (code) => reject(new Error(`the baseline exited with code ${code} before reporting`)));
    child.send(job);
  });
}

// ---------------------------------------------------------------- samplers

/** Calls `fn` every `everyMs` until stopped; collects its latencies in ms. */
function sampler(everyMs: number, fn: () => Promise<unknown>) {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const t = performance.now();
      try {
        await fn();
        latencies.push(performance.now() - t);
      } catch {
        failures++;
      }
      await sleep(everyMs);
    }
  })();
  return {
    latencies,
    get failures() {
      return failures;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

async function transactional(url: string, apiKey: string, token: string): Promise<void> {
  const r = await api(url, "POST", "/transactional/send", { token, title: "Your code", body: "123456" }, { "x-api-key": apiKey });
  if (!r.delivered) throw new Error(`not delivered: ${r.reason}`);
}

// ---------------------------------------------------------------- one database

interface DbResult {
  dialect: string;
  n: number;
  seedSeconds: number;
  server: Measured & { healthP50: number; healthP99: number; healthSamples: number; healthFailures: number; stats: Record<string, number>; status: string };
  transactional: { idleP50: number; idleP99: number; busyP50: number; busyP99: number; busySamples: number; failures: number };
  baseline?: Measured & BaselineReport;
  problems: string[];
}

async function runOn(dialect: "sqlite" | "postgres", sink: Awaited<ReturnType<typeof startSink>>): Promise<DbResult> {
  log(`\n${dialect}: fresh database, ${N.toLocaleString("en")} subscribers`);
  const target = await freshDatabase(dialect);
  let server: ServerProcess | undefined;
  try {
    await migrate(target);
    server = await startServer(serverEnv(target.url));
    const { url, pid } = server;
    const { apiKey, projectId } = await provision(url);

    // Recipients of the transactional probes: registered through the API (they are in the audience too).
    const ecdh = createECDH("prime256v1");
    const keys = { p256dh: ecdh.generateKeys().toString("base64url"), auth: randomBytes(16).toString("base64url") };
    const tokens: string[] = [];
    for (let i = 0; i < PROBES; i++) tokens.push((await api(url, "POST", "/subscribers", { endpoint: `${sink.origin}/push/probe-${i}`, ...keys }, { "x-api-key": apiKey })).token);

    const database = target.open();
    const seedSeconds = await seedSubscribers(database, projectId, N, sink.origin, log, target.dialect === "postgres" ? target.url : undefined);
    await database.destroy();
    await target.analyze();
    log(`  seeded in ${seedSeconds.toFixed(1)} s`);

    // Transactional latency with nothing else running.
    const idle: number[] = [];
    for (let i = 0; i < IDLE_SENDS; i++) {
      const t = performance.now();
      await transactional(url, apiKey, tokens[i % PROBES]!);
      idle.push(performance.now() - t);
    }

    const before = await sink.count();
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const campaign = await api(url, "POST", "/campaigns", { projectId, name: "bench", content: CONTENT, segment: { filters: {} }, schedule: { mode: "immediate" } }, { "x-api-key": apiKey });
    const health = sampler(100, async () => {
      const r = await fetch(`${url}/healthz`);
      await r.arrayBuffer();
      if (!r.ok) throw new Error(String(r.status));
    });
    let probe = 0;
    const busy = sampler(100, () => transactional(url, apiKey, tokens[probe++ % PROBES]!));
    let current = campaign;
    let lastProgress = performance.now();
    let lastDelivered = -1;
    let lastLog = performance.now();
    while (!["sent", "cancelled"].includes(current.status)) {
      await sleep(1000);
      current = await api(url, "GET", `/campaigns/${campaign.id}`, undefined, { "x-api-key": apiKey });
      const elapsed = (performance.now() - t0) / 1000;
      if (current.stats.delivered !== lastDelivered) {
        lastDelivered = current.stats.delivered;
        lastProgress = performance.now();
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        const m = memoryMb(pid);
        log(`  ${elapsed.toFixed(0)} s: ${current.status}, ${current.stats.delivered.toLocaleString("en")} delivered of ${current.stats.audience.toLocaleString("en")}, RSS ${m.rss.toFixed(0)} MB`);
      }
      if (performance.now() - lastProgress > 120_000) throw new Error(`no progress for 2 minutes (status ${current.status}, stats ${JSON.stringify(current.stats)})\n${server.tail()}`);
      if (elapsed > TIMEOUT_S) throw new Error(`not sent within ${TIMEOUT_S} s (stats ${JSON.stringify(current.stats)})`);
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const peakRssMb = memoryMb(pid).peak;
    await health.stop();
    await busy.stop();
    const after = await sink.count();
    const messages = current.stats.delivered as number;
    log(`  campaign ${current.status} in ${wallSeconds.toFixed(1)} s; the sink received ${(after.requests - before.requests).toLocaleString("en")} requests (campaign + ${busy.latencies.length + busy.failures} transactional)`);
    const problems = [...server.problems];
    await server.stop();
    server = undefined;

    let baseline: (Measured & BaselineReport) | undefined;
    if (process.env.BENCH_SKIP_BASELINE !== "1") {
      log(`  baseline: Kysely keyset pages + web-push sendNotification, the first ${BASELINE_N.toLocaleString("en")} recipients`);
      const { generateVapidKeys } = await import("@reachbell/push");
      const vapid = generateVapidKeys();
      const payload = JSON.stringify({ ...CONTENT, url: CONTENT.clickUrl, messageId: "msg_01HX00000000000000000000000" });
      const b0 = await sink.count();
      baseline = await measureBaseline({ databaseUrl: target.url, projectId, concurrency: CONCURRENCY, limit: BASELINE_N, payload, vapid: { ...vapid, subject: "mailto:bench@reachbell.test" } });
      const b1 = await sink.count();
      log(`  baseline sent ${baseline.sent.toLocaleString("en")} (${baseline.errors} errors${baseline.firstError ? `, first: ${baseline.firstError}` : ""}) in ${baseline.wallSeconds.toFixed(1)} s; the sink received ${(b1.requests - b0.requests).toLocaleString("en")}`);
    }

    return {
      dialect,
      n: N,
      seedSeconds,
      server: {
        messages,
        wallSeconds,
        cpuSeconds: cpu,
        peakRssMb,
        healthP50: quantile(health.latencies, 0.5),
        healthP99: quantile(health.latencies, 0.99),
        healthSamples: health.latencies.length,
        healthFailures: health.failures,
        stats: current.stats,
        status: current.status,
      },
      transactional: {
        idleP50: quantile(idle, 0.5),
        idleP99: quantile(idle, 0.99),
        busyP50: quantile(busy.latencies, 0.5),
        busyP99: quantile(busy.latencies, 0.99),
        busySamples: busy.latencies.length,
        failures: busy.failures,
      },
      ...(baseline ? { baseline } : {}),
      problems,
    };
  } finally {
    await server?.stop();
    await target.drop();
  }
}

function report(results: DbResult[]): string {
  const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "-");
  const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
  const rows: string[][] = [];
  for (const r of results) {
    const s = r.server;
    rows.push([`ReachBell on ${r.dialect}`, f0(s.messages), f1(s.wallSeconds), f0(s.messages / s.wallSeconds), f0(s.messages / s.cpuSeconds), f0(s.peakRssMb), `${f1(s.healthP50)} / ${f1(s.healthP99)}`]);
    if (r.baseline) {
      const b = r.baseline;
      rows.push([`baseline on ${r.dialect} (first ${f0(b.messages)})`, f0(b.messages), f1(b.wallSeconds), f0(b.messages / b.wallSeconds), f0(b.messages / b.cpuSeconds), f0(b.peakRssMb), "n/a"]);
    }
  }
  const lines = [
    `\nCampaign fan-out of ${N.toLocaleString("en")} subscribers to a local HTTPS sink (its own process, CPU not counted); ${machineLine()}`,
    formatTable(["contender", "messages", "wall s", "msg/s", "msg/CPU-s", "peak RSS MB", "/healthz p50 / p99 ms"], rows),
  ];
  for (const r of results) {
    const s = r.server;
    lines.push(`\n${r.dialect}: seeded in ${f1(r.seedSeconds)} s; campaign ${s.status}, stats ${JSON.stringify(s.stats)}; /healthz ${s.healthSamples} samples, ${s.healthFailures} failed`);
    if (r.baseline) {
      const ratio = s.messages / s.cpuSeconds / (r.baseline.messages / r.baseline.cpuSeconds);
      lines.push(`  msg/CPU-s vs baseline: ${ratio.toFixed(2)}× (aim ≥ 3×: ${ratio >= 3 ? "met" : "MISSED"}); wall msg/s vs baseline: ${(s.messages / s.wallSeconds / (r.baseline.messages / r.baseline.wallSeconds)).toFixed(2)}×`);
    }
    const aims = [
      `1M in ≤ 10 min: ${r.n >= 1_000_000 ? (s.wallSeconds <= 600 ? "met" : "MISSED") : `n/a (n = ${r.n.toLocaleString("en")}; projected ${f0((1_000_000 / s.messages) * s.wallSeconds)} s)`}`,
      `RSS ≤ 512 MB: ${s.peakRssMb <= 512 ? "met" : "MISSED"}`,
      `/healthz p99 ≤ 50 ms: ${s.healthP99 <= 50 ? "met" : "MISSED"}`,
    ];
    lines.push(`  aims: ${aims.join("; ")}`);
    const t = r.transactional;
    lines.push(
      `  transactional send latency (one at a time): idle p50 ${f1(t.idleP50)} / p99 ${f1(t.idleP99)} ms (${IDLE_SENDS} sends); during the campaign p50 ${f1(t.busyP50)} / p99 ${f1(t.busyP99)} ms (${t.busySamples} sends, ${t.failures} failed)`,
    );
    if (r.problems.length) lines.push(`  server warnings/errors (${r.problems.length}): ${r.problems.slice(0, 3).join(" | ").slice(0, 600)}`);
  }
  return lines.join("\n");
}

function machineLine(): string {
  const m = machine();
  return `node ${String(m.node)}, load average at the end ${(m.loadAverage as number[]).join(" ")}`;
}

async function main(): Promise<void> {
  const sink = await startSink();
  const results: DbResult[] = [];
  try {
    for (const d of databases()) results.push(await runOn(d, sink));
  } finally {
    sink.stop();
  }
  if (!process.env.BENCH_DATABASE_URL) log("(PostgreSQL skipped: set BENCH_DATABASE_URL=postgres://… to measure it too)");
  process.stdout.write(`${report(results)}\n`);
}

if (process.argv.includes("--baseline")) {
  process.once("message", (job: BaselineJob) => {
    // Module loading happens before the measured window.
    void import("web-push").then(() => {
      process.on("message", (m: { go?: boolean; exit?: boolean }) => {
        if (m.go)
          runBaseline(job).then(
            (report) => process.send?.({ report }),
            (e: unknown) => process.send?.({ error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
          );
        if (m.exit) process.exit(0);
      });
      process.send?.({ ready: true });
    });
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`fanout bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}

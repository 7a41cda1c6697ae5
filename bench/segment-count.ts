// The live reach estimate over a large audience: `POST /segments/count` for a 3-filter segment over
// N seeded subscribers (default 1,000,000), timed through the real server on SQLite (a file) and on
// PostgreSQL (a fresh database, when BENCH_DATABASE_URL is set). One warm-up call, then
// BENCH_COUNT_RUNS (default 7) calls one after another; the table gives the median and the slowest.
//
//   pnpm --filter @reachbell/bench segment-count [--n 1000000] [--db sqlite|postgres]
import { api, arg, databases, formatTable, freshDatabase, machine, median, migrate, provision, seedSubscribers, serverEnv, startServer } from "./src/fanout-support";

const N = Number(arg("n", "BENCH_COUNT_N", "1000000"));
const RUNS = Math.max(1, Number(process.env.BENCH_COUNT_RUNS ?? 7));
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Seeded attributes cycle (device type /3, country /8, language /5), so this selects about 1/3 × 2/8 × 2/5 of them. */
const SEGMENTS = {
  "3 filters (platform, country, language)": { platform: ["mobile"], country: ["DE", "FR"], language: ["en"] },
  "no filter (whole audience)": {},
} as const;

interface Row {
  dialect: string;
  segment: string;
  count: number;
  total: number;
  medianMs: number;
  maxMs: number;
  runsMs: number[];
}

async function runOn(dialect: "sqlite" | "postgres"): Promise<Row[]> {
  log(`\n${dialect}: fresh database, ${N.toLocaleString("en")} subscribers`);
  const target = await freshDatabase(dialect);
  try {
    await migrate(target);
    const server = await startServer(serverEnv(target.url));
    try {
      const { apiKey, projectId } = await provision(server.url);
      const database = target.open();
      const seconds = await seedSubscribers(database, projectId, N, "https://push.example", log, target.dialect === "postgres" ? target.url : undefined);
      await database.destroy();
      await target.analyze();
      log(`  seeded in ${seconds.toFixed(1)} s`);
      const rows: Row[] = [];
      for (const [segment, filters] of Object.entries(SEGMENTS)) {
        const call = () => api(server.url, "POST", "/segments/count", { projectId, filters }, { "x-api-key": apiKey }) as Promise<{ count: number; total: number }>;
        const first = await call();
        const runsMs: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t = performance.now();
          await call();
          runsMs.push(performance.now() - t);
        }
        log(`  ${segment}: ${runsMs.map((x) => x.toFixed(0)).join(", ")} ms`);
        rows.push({ dialect, segment, count: first.count, total: first.total, medianMs: median(runsMs), maxMs: Math.max(...runsMs), runsMs });
      }
      return rows;
    } finally {
      await server.stop();
    }
  } finally {
    await target.drop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const d of databases()) rows.push(...(await runOn(d)));
  if (!process.env.BENCH_DATABASE_URL) log("(PostgreSQL skipped: set BENCH_DATABASE_URL=postgres://… to measure it too)");
  const m = machine();
  process.stdout.write(
    [
      `\nPOST /segments/count over ${N.toLocaleString("en")} subscribers (through the server, API key; median of ${RUNS} runs after a warm-up; node ${String(m.node)}, load average ${(m.loadAverage as number[]).join(" ")})`,
      formatTable(
        ["database", "segment", "count", "total", "median ms", "max ms"],
        rows.map((r) => [r.dialect, r.segment, r.count.toLocaleString("en"), r.total.toLocaleString("en"), r.medianMs.toFixed(1), r.maxMs.toFixed(1)]),
      ),
      `aim (well under a second): ${rows.every((r) => r.medianMs < 1000) ? "met" : "MISSED"}`,
      "",
    ].join("\n"),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`segment-count bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

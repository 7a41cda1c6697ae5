// Push build-and-send throughput: our @reachbell/push against the web-push package, same sink, same run.
//
// Three kinds of process, so each figure counts only what it claims to:
//  - the sink (`--sink`): HTTPS on 127.0.0.1 with a throwaway self-signed certificate (web-push
//    only speaks https), answering 201 to everything; its CPU is never counted;
//  - one contender child per measurement (`--contender=web-push|reachbell`): a fresh process, so
//    neither side inherits the other's JIT state, keep-alive sockets or module caches. It warms up,
//    then sends BENCH_PUSH_MESSAGES messages at fixed concurrency and reports wall time and its own
//    process.cpuUsage() (user + system, all threads) over exactly that window;
//  - this parent, which only orchestrates (it sends nothing while a child is measured).
// "Per core" is messages per CPU-second of the sending process. Rounds alternate the order of the
// contenders and the median round is reported, because the machine is shared.
//
//   BENCH_PUSH_MESSAGES=4000  BENCH_PUSH_WARMUP=600  BENCH_PUSH_ROUNDS=5  BENCH_PUSH_CONCURRENCY=50
//   BENCH_PROFILE_DIR=/tmp/prof writes a CPU profile of each contender's measured window.
import { execFileSync, fork } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MESSAGES = Number(process.env.BENCH_PUSH_MESSAGES ?? 4000);
const WARMUP = Number(process.env.BENCH_PUSH_WARMUP ?? 600);
const ROUNDS = Math.max(1, Number(process.env.BENCH_PUSH_ROUNDS ?? 5));
const CONCURRENCY = Number(process.env.BENCH_PUSH_CONCURRENCY ?? 50);
const SUBSCRIBERS = 100;
/** The issue's aim: at least this many times web-push's messages per CPU-second. */
export const PUSH_AIM = 3;

const CONTENDERS = { "web-push": "web-push sendNotification", reachbell: "@reachbell/push build+send" } as const;
type ContenderId = keyof typeof CONTENDERS;

interface Job {
  origin: string;
  subs: { endpoint: string; p256dh: string; auth: string }[];
  vapid: { publicKey: string; privateKey: string; subject: string };
  payload: string;
  messages: number;
  warmup: number;
  concurrency: number;
  profile?: string | undefined;
}

interface Sample {
  messages: number;
  wallSeconds: number;
  cpuSeconds: number;
}

export interface PushRow {
  id: ContenderId;
  name: string;
  /** Median over rounds of messages per CPU-second of the sending process. */
  perCpuSecond: number;
  /** Median over rounds of messages per wall-clock second. */
  perSecond: number;
  samples: Sample[];
}

export interface PushResult {
  rows: PushRow[];
  concurrency: number;
  messages: number;
  rounds: number;
  payloadBytes: number;
}

// ---------------------------------------------------------------- sink process

function runSink(): void {
  const dir = process.env.SINK_CERT_DIR!;
  let count = 0;
  let connections = 0;
  const server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
    req.resume();
    req.on("end", () => {
      count++;
      res.statusCode = 201;
      res.end();
    });
  });
  server.on("secureConnection", () => connections++);
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as { port: number }).port }));
  // The parent asks for the counts: every message must reach the sink, over kept-alive connections.
  process.on("message", (m: { count?: boolean }) => {
    if (m.count) process.send?.({ count: { requests: count, connections } });
  });
  process.on("disconnect", () => process.exit(0));
}

// ---------------------------------------------------------------- contender process

async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function contenderTask(id: ContenderId, job: Job): Promise<{ task: (i: number) => Promise<void>; close(): void }> {
  const { subs, payload, vapid } = job;
  if (id === "web-push") {
    const { default: webpush } = await import("web-push");
    const options = { vapidDetails: vapid, TTL: 3600 };
    return {
      task: async (i) => {
        const s = subs[i % subs.length]!;
        // Rejects (WebPushError) on any non-2xx answer.
        await webpush.sendNotification({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload, options);
      },
      close() {},
    };
  }
  const { buildPushRequest, createPushSender, VapidSigner } = await import("@reachbell/push");
  const sender = createPushSender({ allowInsecure: true, maxSocketsPerOrigin: job.concurrency });
  const signer = new VapidSigner(vapid);
  return {
    task: async (i) => {
      const r = await sender.send(buildPushRequest({ subscription: subs[i % subs.length]!, payload, vapid: signer, ttl: 3600 }));
      if (r.status !== 201) throw new Error(`sink answered ${r.status} ${r.error ?? ""}`);
    },
    close: () => sender.close(),
  };
}

async function runContender(id: ContenderId, job: Job): Promise<Sample> {
  const { task, close } = await contenderTask(id, job);
  // Warm-up: JIT, TLS handshakes for the whole connection pool, VAPID token caches.
  await pool(job.warmup, job.concurrency, task);
  let session: import("node:inspector/promises").Session | undefined;
  if (job.profile) {
    const { Session } = await import("node:inspector/promises");
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await pool(job.messages, job.concurrency, task);
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  if (session && job.profile) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(job.profile, JSON.stringify(profile));
  }
  close();
  return { messages: job.messages, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// ---------------------------------------------------------------- parent

const self = fileURLToPath(import.meta.url);

interface SinkCount {
  requests: number;
  connections: number;
}

export async function startSink(): Promise<{ origin: string; count(): Promise<SinkCount>; stop(): void; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "rb-sink-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"], { stdio: "ignore" });
  const child = fork(self, ["--sink"], { env: { ...process.env, SINK_CERT_DIR: dir }, execArgv: ["--import", "tsx"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`sink exited with code ${code}`)));
  });
  child.removeAllListeners("exit");
  return {
    origin: `https://127.0.0.1:${port}`,
    dir,
    count: () =>
      new Promise((resolve) => {
        child.once("message", (m: { count: SinkCount }) => resolve(m.count));
        child.send({ count: true });
      }),
    stop: () => child.kill(),
  };
}

function measureInChild(id: ContenderId, job: Job): Promise<Sample> {
  const child = fork(self, [`--contender=${id}`], {
    // The sink's certificate is self-signed and lives on loopback only; this child talks to nothing else.
    env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: "0", NODE_NO_WARNINGS: "1" },
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (m: { sample?: Sample; error?: string }) => (m.sample ? resolve(m.sample) : reject(new Error(`${id}: ${m.error}`))));
    child.once("exit", (code) => reject(new Error(`${id} child exited with code ${code} before reporting`)));
    child.send(job);
  });
}

function subscriber(origin: string, i: number) {
  const ecdh = createECDH("prime256v1");
  return { endpoint: `${origin}/push/${i}`, p256dh: ecdh.generateKeys().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function benchPush(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<PushResult> {
  const sink = await startSink();
  try {
    const { generateVapidKeys } = await import("@reachbell/push");
    const keys = generateVapidKeys();
    const payload = JSON.stringify({ title: "Order shipped", body: "Your order #1234 is on its way", url: "https://shop.example/orders/1234", iconUrl: null, imageUrl: null, badge: null, messageId: "msg_01HX00000000000000000000000" });
    const base: Job = {
      origin: sink.origin,
      subs: Array.from({ length: SUBSCRIBERS }, (_, i) => subscriber(sink.origin, i)),
      vapid: { publicKey: keys.publicKey, privateKey: keys.privateKey, subject: "mailto:bench@reachbell.test" },
      payload,
      messages: MESSAGES,
      warmup: WARMUP,
      concurrency: CONCURRENCY,
    };
    const samples: Record<ContenderId, Sample[]> = { "web-push": [], reachbell: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order: ContenderId[] = round % 2 === 0 ? ["web-push", "reachbell"] : ["reachbell", "web-push"];
      for (const id of order) {
        const dir = process.env.BENCH_PROFILE_DIR;
        const profile = dir ? join(dir, `push-${id}-round${round + 1}.cpuprofile`) : undefined;
        const before = await sink.count();
        const s = await measureInChild(id, { ...base, profile });
        const after = await sink.count();
        const requests = after.requests - before.requests;
        if (requests !== WARMUP + MESSAGES) throw new Error(`${id}: the sink received ${requests} requests, expected ${WARMUP + MESSAGES}`);
        samples[id].push(s);
        log(`  push round ${round + 1} ${id}: ${Math.round(s.messages / s.cpuSeconds)} msg/CPU-s, ${Math.round(s.messages / s.wallSeconds)} msg/s, ${after.connections - before.connections} TLS connections${profile ? ` (profile: ${profile})` : ""}`);
      }
    }
    const rows = (Object.keys(CONTENDERS) as ContenderId[]).map((id) => ({
      id,
      name: CONTENDERS[id],
      perCpuSecond: median(samples[id].map((s) => s.messages / s.cpuSeconds)),
      perSecond: median(samples[id].map((s) => s.messages / s.wallSeconds)),
      samples: samples[id],
    }));
    return { rows, concurrency: CONCURRENCY, messages: MESSAGES, rounds: ROUNDS, payloadBytes: Buffer.byteLength(payload) };
  } finally {
    sink.stop();
    rmSync(sink.dir, { recursive: true, force: true });
  }
}

/** The table `pnpm bench` prints: per CPU-second of the sender (the "per core" figure) and wall clock. */
export function formatPushTable(r: PushResult): string {
  const base = r.rows.find((x) => x.id === "web-push")!;
  const header = ["contender", "msg/CPU-s", "msg/s (wall)", "per core vs web-push", "wall vs web-push"];
  const lines = r.rows.map((x) => [x.name, x.perCpuSecond.toFixed(0), x.perSecond.toFixed(0), `${(x.perCpuSecond / base.perCpuSecond).toFixed(2)}×`, `${(x.perSecond / base.perSecond).toFixed(2)}×`]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const ours = r.rows.find((x) => x.id === "reachbell")!;
  // The verdict uses each round's pair (measured back to back, so under the same outside load),
  // not the ratio of the two medians: on a shared machine the load drifts between rounds.
  const perRound = ours.samples.map((s, i) => s.messages / s.cpuSeconds / (base.samples[i]!.messages / base.samples[i]!.cpuSeconds));
  const ratio = median(perRound);
  return [
    `\nPush build + send to a local HTTPS sink (${r.messages} messages of ${r.payloadBytes} B per run, ${r.concurrency} in flight, ${SUBSCRIBERS} subscribers, median of ${r.rounds} rounds; each run in a fresh child, sink CPU not counted)`,
    fmt(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.map(fmt),
    `per-core ratio by round: ${perRound.map((x) => `${x.toFixed(2)}×`).join(", ")}; median ${ratio.toFixed(2)}×`,
    `aim (≥ ${PUSH_AIM}× web-push per core, median of the rounds' ratios): ${ratio >= PUSH_AIM ? "met" : "MISSED"} (${ratio.toFixed(2)}×)`,
  ].join("\n");
}

const contender = process.argv.find((a) => a.startsWith("--contender="))?.slice("--contender=".length) as ContenderId | undefined;
if (process.argv.includes("--sink")) runSink();
else if (contender) {
  process.once("message", (job: Job) => {
    runContender(contender, job).then(
      (sample) => process.send?.({ sample }, () => process.exit(0)),
      (e: unknown) => process.send?.({ error: e instanceof Error ? e.message : String(e) }, () => process.exit(1)),
    );
  });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${formatPushTable(await benchPush())}\n`);
}

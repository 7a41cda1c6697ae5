// Push build-and-send throughput: our @reachbell/push against the web-push package, same sink, same run.
//
// The sink is a separate process (HTTPS on 127.0.0.1 with a throwaway self-signed certificate, since
// web-push only speaks https) answering 201 to everything, so the process measured here does nothing
// but build and send. Each side runs in this one Node process (one core for its JavaScript), with
// the same concurrency and message count; the figure is messages per second per core.
import { execFileSync, fork } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildPushRequest, createPushSender, generateVapidKeys, VapidSigner } from "@reachbell/push";
import { startPushServicePeer } from "@reachbell/push/testing";
import webpush from "web-push";

const MESSAGES = Number(process.env.BENCH_PUSH_MESSAGES ?? 3000);
const CONCURRENCY = 50;

function runSink(): void {
  const dir = process.env.SINK_CERT_DIR!;
  const server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
    req.resume();
    req.on("end", () => {
      res.statusCode = 201;
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as { port: number }).port }));
}

async function startSink(): Promise<{ origin: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "rb-sink-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"], { stdio: "ignore" });
  const child = fork(new URL(import.meta.url).pathname, ["--sink"], { env: { ...process.env, SINK_CERT_DIR: dir }, execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once("message", (m: any) => resolve(m.port)));
  return { origin: `https://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

export async function benchPush(): Promise<{ name: string; perSecond: number }[]> {
  // The sink's certificate is self-signed and lives on loopback only.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  const sink = await startSink();
  const peer = await startPushServicePeer(); // only to mint browser-like subscriber keys
  const subs = Array.from({ length: 100 }, (_, i) => ({ ...peer.createSubscriber(), endpoint: `${sink.origin}/push/${i}` }));
  await peer.close();
  const keys = generateVapidKeys();
  const payload = JSON.stringify({ title: "Order shipped", body: "Your order #1234 is on its way", url: "https://shop.example/orders/1234", iconUrl: null, imageUrl: null, badge: null, messageId: "msg_01HX00000000000000000000000" });
  try {
    const results: { name: string; perSecond: number }[] = [];
    // Warm both paths (JIT, TLS sessions) before measuring.
    const sender = createPushSender({ allowInsecure: true });
    const signer = new VapidSigner({ publicKey: keys.publicKey, privateKey: keys.privateKey, subject: "mailto:bench@reachbell.test" });
    const ours = async (i: number) => {
      const r = await sender.send(buildPushRequest({ subscription: subs[i % subs.length]!, payload, vapid: signer, ttl: 3600 }));
      if (r.status !== 201) throw new Error(`sink answered ${r.status} ${r.error ?? ""}`);
    };
    const theirs = async (i: number) => {
      const s = subs[i % subs.length]!;
      await webpush.sendNotification({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload, {
        vapidDetails: { subject: "mailto:bench@reachbell.test", publicKey: keys.publicKey, privateKey: keys.privateKey },
        TTL: 3600,
      });
    };
    await pool(200, CONCURRENCY, ours);
    await pool(200, CONCURRENCY, theirs);
    results.push({ name: "web-push sendNotification", perSecond: await pool(MESSAGES, CONCURRENCY, theirs) });
    results.push({ name: "@reachbell/push build+send", perSecond: await pool(MESSAGES, CONCURRENCY, ours) });
    sender.close();
    return results;
  } finally {
    sink.stop();
  }
}

if (process.argv.includes("--sink")) runSink();
else if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const r = await benchPush();
  const base = r[0]!.perSecond;
  for (const x of r) console.log(`${x.name.padEnd(30)} ${x.perSecond.toFixed(0).padStart(7)} msg/s  ${(x.perSecond / base).toFixed(2)}× web-push`);
}

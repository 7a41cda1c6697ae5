import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { describe } from "vitest";

// Helpers for the suites that need Redis: TEST_REDIS_URL (CI starts Redis and sets it), or a
// redis-server of their own on a spare port (the fall-back suite kills it mid-run).

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

const hasRedisServer = () => spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** `describe` when TEST_REDIS_URL is set (and, if asked, TEST_DATABASE_URL and redis-server); otherwise reported as skipped with the reason. */
export function describeWithRedis(name: string, fn: () => void, needs: { postgres?: boolean; redisServer?: boolean } = {}): void {
  const missing = [
    !TEST_REDIS_URL && "TEST_REDIS_URL is not set",
    needs.postgres && !process.env.TEST_DATABASE_URL && "TEST_DATABASE_URL is not set",
    needs.redisServer && !hasRedisServer() && "redis-server is not installed",
  ].filter(Boolean);
  if (missing.length > 0) describe.skip(`${name} (skipped: ${missing.join(", ")})`, fn);
  else describe(name, fn);
}

/** A key prefix of its own for each run, so parallel runs and files never share counters. */
export const uniquePrefix = (tag: string) => `rbtest:${tag}:${randomBytes(5).toString("hex")}:`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server (no persistence) on `port`, answering PING before this resolves. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], {
    stdio: "ignore",
  });
  const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if (client.status !== "ready") await client.connect();
        if ((await client.ping()) === "PONG") return child;
      } catch {
        client.disconnect();
        await sleep(100);
      }
    }
  } finally {
    client.disconnect();
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not start`);
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  await exited;
}

/** Deletes every key under `prefix` (counters expire on their own; this keeps a shared Redis tidy). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } catch {
    /* best effort */
  } finally {
    client.disconnect();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` until it holds or `timeoutMs` passes. */
export async function eventually(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The campaign sends' encryption pool (FANOUT_CRYPTO_THREADS worker threads, piscina): a chunk's
// recipients are encrypted in batches of CRYPTO_BATCH per task, so the event loop keeps serving the
// API, the database and the sockets while the CPU-bound part of the fan-out runs beside it. A task
// that fails (a worker error or a worker that died) is redone inline, so no recipient is lost to it.

import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import type { Logger } from "../logger";
import { type EncryptBatchResult, type EncryptItem, encryptBatch } from "./crypto-worker";

/** Recipients per task: a task costs a structured clone each way; 64 encryptions take ~20 ms on a core here. */
export const CRYPTO_BATCH = 64;

export type Encrypted = { ok: true; body: Buffer } | { ok: false; error: string };

export interface CryptoPool {
  readonly threads: number;
  /** Tasks redone inline after a worker failure (for tests and diagnostics). */
  readonly fallbacks: number;
  /** Starts encrypting every item now; the returned function gives item i's result when its batch is done. Never rejects. */
  encryptAll(items: EncryptItem[]): (i: number) => Promise<Encrypted>;
  close(): Promise<void>;
}

/** Under tsx (tests, `node --import tsx src/main.ts`) the worker is this folder's .ts file; built, dist/crypto-worker.js. */
function defaultWorkerFile(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith(".ts");
  const filename = fileURLToPath(new URL(fromSource ? "./crypto-worker.ts" : "./crypto-worker.js", import.meta.url));
  // tsx by absolute URL: a bare "tsx" would resolve from the process's working directory.
  return { filename, execArgv: fromSource ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : [] };
}

function split(result: EncryptBatchResult): Encrypted[] {
  const buf = Buffer.from(result.bodies.buffer, result.bodies.byteOffset, result.bodies.byteLength);
  let start = 0;
  return result.ends.map((end, i) => {
    const error = result.errors[i];
    const out: Encrypted = error != null ? { ok: false, error } : { ok: true, body: buf.subarray(start, end) };
    start = end;
    return out;
  });
}

export function createCryptoPool(options: { threads: number; logger: Logger; /** tests: another worker module */ worker?: { filename: string; execArgv: string[] } }): CryptoPool {
  const { filename, execArgv } = options.worker ?? defaultWorkerFile();
  const pool = new Piscina({ filename, minThreads: options.threads, maxThreads: options.threads, idleTimeout: 60_000, execArgv });
  // An error outside any task (a worker that cannot start) must not take the process down; its tasks
  // reject and are encrypted inline.
  pool.on("error", (e: unknown) => options.logger.warn("crypto worker error", { error: e instanceof Error ? e.message : String(e) }));
  let fallbacks = 0;
  const run = async (items: EncryptItem[]): Promise<Encrypted[]> => {
    try {
      return split((await pool.run({ items })) as EncryptBatchResult);
    } catch (e) {
      // A worker error or a dead worker (piscina replaces it): encrypt this batch here instead.
      if (fallbacks++ < 5) options.logger.warn("crypto worker task failed; encrypting inline", { error: e instanceof Error ? e.message : String(e), recipients: items.length });
      return split(encryptBatch(items));
    }
  };
  return {
    threads: options.threads,
    get fallbacks() {
      return fallbacks;
    },
    encryptAll(items) {
      const batches: Promise<Encrypted[]>[] = [];
      for (let i = 0; i < items.length; i += CRYPTO_BATCH) batches.push(run(items.slice(i, i + CRYPTO_BATCH)));
      return async (i) => (await batches[Math.floor(i / CRYPTO_BATCH)]!)[i % CRYPTO_BATCH]!;
    },
    async close() {
      await pool.destroy();
    },
  };
}

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// WAL checkpoints copy committed pages back into the database file and fsync it. SQLite runs them
// inside whichever commit crosses wal_autocheckpoint, so every ~170th insert paid for the copy and the
// fsync of the last ~1000 pages (about half the cost of an insert on this machine). A worker thread
// with its own connection checkpoints instead, off the event loop. Durability is unchanged: commits
// still reach the WAL exactly as before, and the checkpoint itself is the same operation.

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // busy or locked: the next round (or the writer's backstop) does it
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** Pages in the WAL before the writer checkpoints by itself: only reached if the worker falls behind or stops. */
export const BACKSTOP_PAGES = 20_000;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Starts the checkpoint worker for a SQLite file. `onFailure` runs if the worker dies unexpectedly, so the
 * caller can hand checkpoints back to the writer.
 */
export function startCheckpointer(file: string, onFailure: (err: unknown) => void, intervalMs = 100): Checkpointer {
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, intervalMs } });
  worker.unref();
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("error", (err) => {
    if (!stopping) onFailure(err);
  });
  worker.once("exit", (code) => {
    if (!stopping) onFailure(new Error(`checkpoint worker exited with code ${code}`));
  });
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      // Unref'd while running so it never keeps a process alive; ref'd while stopping, or a process with
      // nothing else pending (the CLI, a server after close) would end before "exit" and skip the rest.
      worker.ref();
      worker.postMessage("stop");
      await exited;
    },
  };
}

import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

// The real server process for the suites that need one (process, crash recovery, campaign crash and
// multi-instance): `node --import tsx src/main.ts` with exactly the environment given (plus PATH and
// HOME), its stdout parsed as JSON log lines, a wait for a given line (e.g. "listening"), and a kill.
// Every process started here is remembered; `stopServers()` in an afterEach SIGKILLs what is left.

export const SERVER_MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The stdout lines that parsed as JSON, in order. */
  readonly lines: any[];
  /** Settles once the process has exited and its output streams are closed. */
  exited: Promise<Exit>;
  /** The first log line (past or future) matching `pred`; rejects if the process exits first or on timeout. */
  waitForLine(pred: (line: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Waits for the "listening" line and returns its URL. */
  listening(timeoutMs?: number): Promise<string>;
  /** Sends `signal` (SIGKILL by default) and waits for the exit; at once if it has already exited. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const running: ChildProcess[] = [];

/** SIGKILLs every server process still running (for afterEach). */
export async function stopServers(): Promise<void> {
  await Promise.all(
    running.splice(0).map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((r) => c.once("exit", () => r()));
      c.kill("SIGKILL");
      await gone;
    }),
  );
}

export interface StartOptions {
  /** Working directory (./data, ./.env are read from it). Default: this process's. */
  cwd?: string;
  /** Use the environment as given, without adding PATH and HOME. */
  exactEnv?: boolean;
}

/** Starts `node --import tsx src/main.ts` with `env` (plus PATH/HOME unless `exactEnv`). */
export function startServer(env: Record<string, string>, options: StartOptions = {}): ServerProcess {
  const cwd = options.cwd ?? process.cwd();
  const child = spawn(process.execPath, ["--import", TSX, SERVER_MAIN], {
    cwd,
    env: options.exactEnv ? env : { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? cwd, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let out = "";
  let partial = "";
  let err = "";
  const lines: any[] = [];
  const waiters: { pred: (l: any) => boolean; resolve: (l: any) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = lines.find(w.pred);
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  child.stdout!.on("data", (d: Buffer) => {
    const text = d.toString();
    out += text;
    const parts = (partial + text).split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p));
      } catch {
        /* not a log line */
      }
    }
    check();
  });
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));

  const waitForLine = (pred: (line: any) => boolean, timeoutMs = 30_000) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before the expected log line\nstdout:\n${out}\nstderr:\n${err}`));
      });
      check();
    });

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines,
    exited,
    waitForLine,
    listening: async (timeoutMs = 45_000) => (await waitForLine((l) => l.msg === "listening", timeoutMs)).url as string,
    async stop(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

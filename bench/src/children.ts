import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Target {
  url: string;
  /** Asks the child to start/stop its CPU profile (only targets started with BENCH_PROFILE_DIR do). */
  profile(what: "start" | "stop", name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Forks `targets/<name>.mjs` under plain node and waits for it to report its URL (127.0.0.1, a free port).
 * stdout (the server's access log, one JSON line per request as in production) goes to /dev/null.
 */
export function startTarget(name: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Target> {
  // Plain node, no TypeScript loader in the measured process: targets are .mjs, and ReachBell's is its build.
  const file = fileURLToPath(new URL(`./targets/${name}.mjs`, import.meta.url));
  const child: ChildProcess = fork(file, [], { env, execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening`));
    });
    child.once("message", (m: { url?: string }) => {
      clearTimeout(timer);
      child.removeAllListeners("exit");
      if (!m?.url) return reject(new Error(`${name} sent no url`));
      resolve({
        url: m.url,
        profile: (what, name) =>
          new Promise<void>((done) => {
            if (!env.BENCH_PROFILE_DIR) return done();
            child.send({ profile: what, name });
            if (what === "start") return setTimeout(done, 50);
            child.once("message", (reply: { profiled?: string }) => {
              if (reply.profiled) process.stderr.write(`    profile: ${reply.profiled}\n`);
              done();
            });
          }),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
            child.once("exit", () => {
              clearTimeout(kill);
              done();
            });
            child.disconnect();
          }),
      });
    });
  });
}

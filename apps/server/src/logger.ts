// Structured JSON logs, one line each. Secrets never reach here: callers log ids, never bodies or headers,
// and known secret-bearing keys are redacted as a second line of defence.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
const REDACT = /pass(word)?|secret|token|authorization|api[-_]?key|cookie|private/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether lines at this level are written (lets callers skip work for lines nobody sees). */
  isLevelEnabled?(level: Exclude<LogLevel, "silent">): boolean;
}

/**
 * Lines for stdout, written in batches: stdout is synchronous on Linux pipes and files, so one
 * write per access-log line would cost a system call per request. Lines logged in one turn of the
 * event loop go out together right after it (or sooner past 64 KiB), and whatever is pending at
 * exit is written before the process ends, so nothing logged is lost on process.exit().
 */
export function bufferedStdout(stream: { write(chunk: string): unknown } = process.stdout): (line: string) => void {
  let pending: string[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.join("");
    pending = [];
    bytes = 0;
    stream.write(chunk);
  };
  process.once("exit", flush);
  return (line) => {
    pending.push(line);
    bytes += line.length;
    if (bytes >= 65_536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

let stdoutWriter: ((line: string) => void) | undefined;

export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const out = write ?? (stdoutWriter ??= bufferedStdout());
  const min = LEVELS[level];
  const log = (lvl: Exclude<LogLevel, "silent">) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LEVELS[lvl] < min) return;
    const safe: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) safe[k] = REDACT.test(k) ? "[redacted]" : v instanceof Error ? { name: v.name, message: v.message } : v;
    out(`${JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...safe })}\n`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), isLevelEnabled: (lvl) => LEVELS[lvl] >= min };
}

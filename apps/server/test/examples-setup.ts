import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExamplesFile, RecordedExample } from "../src/http/openapi-examples";

/** Where the workers write their recordings (JSON lines, one file per worker process). */
export const RECORD_DIR = fileURLToPath(new URL("../node_modules/.cache/openapi-examples/", import.meta.url));

/** Where the merged examples go (committed; read by src/http/openapi-examples.ts). */
export const EXAMPLES_FILE = fileURLToPath(new URL("../src/http/openapi-examples.json", import.meta.url));

type Recorded = RecordedExample & { file: string; seq: number };

/** `apiKeys.create` → `api-keys`: the test files of an operation's own resource are preferred. */
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const rank = (ex: Recorded) => {
  const ns = kebab(ex.operationId.split(".")[0]!);
  const own = ex.file.startsWith(`${ns}.`) || (ns === "messages" && ex.file.startsWith("transactional."));
  const kind = /^2/.test(String(ex.status)) ? ex.file.includes(".happy.") : ex.file.includes(".error.");
  const prefixed = ex.request.path.startsWith("/api/"); // the /api alias is the same operation: show the plain path
  return (prefixed ? 4 : 0) + (own ? 0 : 2) + (kind ? 0 : 1);
};

/**
 * Merges the workers' recordings: per operation × status the example of the best-ranked test file
 * (the operation's own happy file for successes, its own error file for errors), ties broken by
 * file name then call order, so the choice does not depend on which worker ran first.
 */
export function mergeRecordings(dir = RECORD_DIR): ExamplesFile {
  const all: Recorded[] = [];
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith(".jsonl")) continue;
      for (const line of readFileSync(join(dir, name), "utf8").split("\n")) if (line.trim()) all.push(JSON.parse(line) as Recorded);
    }
  }
  all.sort((a, b) => rank(a) - rank(b) || a.file.localeCompare(b.file) || a.seq - b.seq);
  const chosen = new Map<string, Recorded>();
  for (const ex of all) if (!chosen.has(`${ex.operationId} ${ex.status}`)) chosen.set(`${ex.operationId} ${ex.status}`, ex);
  const out: ExamplesFile = {};
  for (const ex of [...chosen.values()].sort((a, b) => a.operationId.localeCompare(b.operationId) || a.status - b.status)) {
    const { file: _file, seq: _seq, ...example } = ex;
    (out[ex.operationId] ??= {})[String(ex.status)] = example;
  }
  return out;
}

/** vitest globalSetup while recording: starts from an empty recording, writes the merged file at the end. */
export default function setup(): () => void {
  rmSync(RECORD_DIR, { recursive: true, force: true });
  return () => {
    const merged = mergeRecordings();
    writeFileSync(EXAMPLES_FILE, `${JSON.stringify(merged, null, 2)}\n`);
    const n = Object.values(merged).reduce((s, m) => s + Object.keys(m).length, 0);
    console.log(`openapi examples: ${n} examples for ${Object.keys(merged).length} operations → ${EXAMPLES_FILE}`);
    rmSync(RECORD_DIR, { recursive: true, force: true });
  };
}

// Prints the gzipped size of the script-tag bundle and fails the build over the budget (8 kB).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 8 * 1024;
let failed = false;
for (const file of ["dist/reachbell.js", "dist/reachbell-sw.js"]) {
  const raw = readFileSync(join(import.meta.dirname, "..", file));
  const gz = gzipSync(raw, { level: 9 }).length;
  const over = file === "dist/reachbell.js" && gz > BUDGET;
  console.log(`${file}: ${raw.length} bytes, ${gz} bytes gzipped${file === "dist/reachbell.js" ? ` (budget ${BUDGET})` : ""}${over ? "  OVER BUDGET" : ""}`);
  failed ||= over;
}
if (failed) {
  console.error("dist/reachbell.js exceeds the 8 kB gzipped budget");
  process.exit(1);
}

// Prints the gzipped size of the JavaScript index.html loads first (its module script and
// modulepreloads) and fails the build over the budget (200 kB gzipped).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 200 * 1024;
const dist = join(import.meta.dirname, "..", "dist");
const html = readFileSync(join(dist, "index.html"), "utf8");
const urls = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/app\/([^"]+\.js)"/g)].map((m) => m[1]);
if (urls.length === 0) {
  console.error("dist/index.html loads no script: is this a dashboard build?");
  process.exit(1);
}
let total = 0;
for (const file of new Set(urls)) {
  const raw = readFileSync(join(dist, file));
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`${file}: ${raw.length} bytes, ${gz} bytes gzipped`);
}
console.log(`initial JS: ${total} bytes gzipped (budget ${BUDGET})${total > BUDGET ? "  OVER BUDGET" : ""}`);
if (total > BUDGET) {
  console.error("the dashboard's initial JavaScript exceeds the 200 kB gzipped budget");
  process.exit(1);
}

import { rmSync } from "node:fs";
import { defineConfig } from "tsup";

// The two builds below run in parallel: clean once here rather than in either of them.
rmSync(new URL("./dist", import.meta.url), { recursive: true, force: true });

// ESM for bundlers (dist/index.js, dist/react.js, with types), and two minified classic scripts the
// server serves: dist/reachbell.js (window.ReachBell, for a <script> tag) and dist/reachbell-sw.js
// (the service worker). `pnpm build` then checks the IIFE's gzipped size (scripts/size.mjs).
export default defineConfig([
  {
    entry: { index: "src/index.ts", react: "src/react.ts" },
    format: ["esm"],
    platform: "browser",
    target: "es2020",
    external: ["react"],
    dts: true,
    splitting: true,
    minify: true,
    sourcemap: false,
  },
  {
    entry: { reachbell: "src/iife.ts", "reachbell-sw": "src/sw.ts" },
    format: ["iife"],
    platform: "browser",
    target: "es2020",
    minify: true,
    sourcemap: false,
    outExtension: () => ({ js: ".js" }),
  },
]);

import { defineConfig } from "tsup";

// One bundle per entry; workspace packages are inlined, npm dependencies stay external. tsup only
// externalizes what this package.json lists, so the inlined packages' runtime dependencies (argon2,
// better-sqlite3, pg, jose: native or not bundleable) are listed here too.
export default defineConfig({
  // index: the embedding API (createApp…), which the benchmark runs as built, like `pnpm start` does.
  // crypto-worker: the campaign encryption pool's worker (campaigns/crypto-pool.ts loads ./crypto-worker.js beside the bundle).
  entry: { main: "src/main.ts", cli: "src/cli.ts", index: "src/index.ts", "crypto-worker": "src/campaigns/crypto-worker.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  noExternal: [/^@reachbell\//],
  sourcemap: false,
  clean: true,
});

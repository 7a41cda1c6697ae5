import { defineConfig } from "tsup";

// One bundle per entry; workspace packages are inlined, npm dependencies stay external.
export default defineConfig({
  entry: { main: "src/main.ts", cli: "src/cli.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  noExternal: [/^@reachbell\//],
  sourcemap: false,
  clean: true,
});

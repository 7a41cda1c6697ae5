import { defineConfig } from "tsup";

// Declarations only. `paths` sends the workspace packages the router type reaches (@reachbell/server,
// contract, db, …) to their sources, which rollup-plugin-dts then inlines; npm packages (@trpc/server,
// zod, …) resolve through node_modules and stay imports. A consumer needs no ReachBell source.
export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm"],
  dts: {
    only: true,
    compilerOptions: {
      paths: {
        "@reachbell/server": ["../../apps/server/src/index.ts"],
        "@reachbell/*": ["../*/src/index.ts"],
      },
    },
  },
  clean: true,
});

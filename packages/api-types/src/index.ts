// The one export of this package: the server's tRPC router type. `pnpm build` bundles its declaration
// (and everything it reaches inside the workspace) into dist/index.d.ts; only npm packages stay imports.
export type { AppRouter } from "@reachbell/server";

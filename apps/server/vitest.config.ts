import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files run in parallel workers; each has its own databases (in-memory SQLite, a PostgreSQL schema).
    pool: "forks",
    // RECORD_EXAMPLES=1 (`pnpm examples:update`): merge the recorded OpenAPI examples when the run ends.
    globalSetup: process.env.RECORD_EXAMPLES === "1" ? ["test/examples-setup.ts"] : [],
  },
});

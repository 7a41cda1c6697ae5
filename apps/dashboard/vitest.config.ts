import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A real browser and server per file: generous limits, no timing assertions.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
  },
});

// The real server as `pnpm start` runs it: the tsup build (apps/server/dist, built by `pnpm bench`
// first) under plain node, configured from the environment exactly as main.ts does (production mode,
// migrations on start), listening on 127.0.0.1 only. The parent passes DATABASE_URL and secrets.
// Plain JavaScript so no TypeScript loader sits in the measured process.
import { createApp, createDb, loadConfig, migrateToLatest } from "../../../apps/server/dist/index.js";

const { config } = loadConfig(process.env);
const database = createDb(config.databaseUrl);
await migrateToLatest(database.db, database.dialect);
// BENCH_RATE_LIMITING=off: the same server without the rate limiter (the overhead scenario's reference).
const app = createApp({ database, config, rateLimiting: process.env.BENCH_RATE_LIMITING !== "off" });
const { server, url } = await app.listen(0, "127.0.0.1");
process.send?.({ url });

// BENCH_PROFILE_DIR: the runner asks for a CPU profile of each measured run (not start-up, not warm-up).
const profileDir = process.env.BENCH_PROFILE_DIR;
if (profileDir) {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  process.on("message", async (/** @type {{ profile?: "start" | "stop"; name?: string }} */ m) => {
    if (m.profile === "start") await session.post("Profiler.start");
    if (m.profile === "stop") {
      const { profile } = await session.post("Profiler.stop");
      const file = `${profileDir}/${(m.name ?? "run").replace(/[^\w.-]+/g, "_")}.cpuprofile`;
      writeFileSync(file, JSON.stringify(profile));
      process.send?.({ profiled: file });
    }
  });
}
process.on("disconnect", () => {
  server.closeAllConnections();
  server.close(async () => {
    await app.close().catch(() => {});
    await database.destroy().catch(() => {});
    process.exit(0);
  });
});

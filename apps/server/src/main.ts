import { createDb, migrateToLatest } from "@reachbell/db";
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./env";
import { createLogger } from "./logger";

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const { config, warnings } = loaded;
  const logger = createLogger(config.logLevel);
  for (const w of warnings) logger.warn(`WARNING: ${w}`);

  const database = createDb(config.databaseUrl);
  const applied = await migrateToLatest(database.db, database.dialect);
  logger.info("database ready", { database: database.description, migrationsApplied: applied });
  // Never the Redis URL itself: it may carry a password.
  logger.info("rate limits", { perMinute: config.rateLimits, counters: config.redisUrl ? "redis" : "memory", trustProxy: config.trustProxy });

  const app = createApp({ database, config, logger });
  const { server, url } = await app.listen();
  logger.info("listening", { url, port: config.port });

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database, exit 0.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    const force = setTimeout(() => {
      logger.warn("in-flight requests did not finish in 10s; closing anyway");
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    server.close(async () => {
      await app.close().catch(() => {});
      await database.destroy().catch(() => {});
      logger.info("stopped");
      process.exit(0);
    });
    // Keep-alive connections turn idle as their last response ends: close them then, not at their
    // keep-alive timeout, so the process exits as soon as the in-flight work is done.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`fatal: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

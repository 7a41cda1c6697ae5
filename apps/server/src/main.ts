import { createDb, migrateToLatest } from "@reachbell/db";
import { createApp } from "./app";
import { ConfigError, loadConfig, loadDotEnv } from "./env";
import { createLogger } from "./logger";
import { settleInterrupted } from "./services/messages";

async function main(): Promise<void> {
  let loaded;
  let dotEnv: string | undefined;
  try {
    // Before the configuration is read; variables already in the environment win over the file.
    dotEnv = loadDotEnv();
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
  // The file's path only, never its values.
  if (dotEnv !== undefined) logger.info("loaded .env", { file: dotEnv });
  for (const w of warnings) logger.warn(`WARNING: ${w}`);

  const database = createDb(config.databaseUrl, { timeouts: config.databaseTimeouts });
  const applied = await migrateToLatest(database.db, database.dialect);
  logger.info("database ready", { database: database.description, migrationsApplied: applied });
  // Never the Redis URL itself: it may carry a password.
  logger.info("rate limits", { perMinute: config.rateLimits, counters: config.redisUrl ? "redis" : "memory", trustProxy: config.trustProxy });

  const app = createApp({ database, config, logger });
  // Before serving: settle what a crash left in flight (pending messages, in_flight Idempotency-Keys)
  // whose lease has run out. Another instance's live work keeps renewing its leases and is left alone;
  // leftovers whose lease is still running are settled by the sweep below once it has passed.
  const settled = await settleInterrupted(app.deps);
  logger.info("settled interrupted sends", { ...settled, leaseSeconds: config.inFlightLeaseSeconds });
  const sweep = setInterval(() => {
    settleInterrupted(app.deps)
      .then((s) => {
        if (s.messages > 0 || s.idempotencyKeys > 0) logger.info("settled interrupted sends", s);
      })
      .catch((e: unknown) => logger.warn("settling interrupted sends failed", { error: e instanceof Error ? e.message : String(e) }));
  }, config.inFlightLeaseSeconds * 1000);
  sweep.unref();
  const { server, url } = await app.listen().catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EADDRINUSE") throw e;
    process.stderr.write(`port ${config.port} is in use: stop what listens there or set PORT\n`);
    process.exit(1);
  });
  logger.info("listening", { url, port: config.port });
  // The campaign fan-out (FANOUT=off: API only; on PostgreSQL the queue is still opened so starting a
  // campaign enqueues its job for the worker instances).
  await app.deps.fanout.start();

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database, exit 0.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(sweep);
    logger.info("shutting down", { signal });
    const force = setTimeout(() => {
      logger.warn("in-flight requests did not finish in 10s; closing anyway");
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    // Now, alongside the HTTP drain: no new slices; running ones finish their chunk and record it
    // before the database closes below.
    const fanoutStopped = app.deps.fanout.stop().catch((e: unknown) => logger.warn("stopping the fan-out failed", { error: e instanceof Error ? e.message : String(e) }));
    server.close(async () => {
      await fanoutStopped;
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

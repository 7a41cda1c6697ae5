export { createApp, type App, type CreateAppOptions } from "./app";
export { loadConfig, testConfig, ConfigError, type Config } from "./env";
export { appRouter, type AppRouter } from "./routers";
export { buildOpenApiDocument } from "./http/openapi";
// The database this build inlines, for embedders that construct the app themselves (the benchmark).
export { createDb, migrateToLatest } from "@reachbell/db";

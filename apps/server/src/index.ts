export { createApp, type App, type CreateAppOptions } from "./app";
export { loadConfig, testConfig, ConfigError, type Config } from "./env";
export { appRouter, type AppRouter } from "./routers";
export { buildOpenApiDocument } from "./http/openapi";

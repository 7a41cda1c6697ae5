export { createDb, parseDatabaseUrl, DEFAULT_DB_TIMEOUTS, QueryTimeoutError, type Database, type DbTarget, type DbTimeouts } from "./create-db";
export { migrateToLatest } from "./migrate";
export { migrations } from "./migrations";
export type { Dialect } from "./migrations/util";
export { createTestDb, testDialects, markSuiteRan } from "./test-db";
export { newId, newSequentialId, type IdPrefix } from "./ids";
export { precompile, type ParamRef, type Precompiled } from "./precompiled";
export * from "./schema";

import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDuration, parseEncryptionKey } from "@reachbell/auth";
import { DEFAULT_DB_TIMEOUTS } from "@reachbell/db";
import { z } from "zod";
import type { GeoIpSetting } from "./geoip";
import { parseOriginList } from "./http/origins";

// The only file that reads process.env. Everything else receives a Config.

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  host: string;
  databaseUrl: string | undefined;
  jwtSecret: Uint8Array;
  jwtExpiresInSeconds: number;
  encryptionKey: Buffer;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** false, or the number of trusted proxy hops in front of the server. */
  trustProxy: number | false;
  redisUrl: string | undefined;
  /** Prefix of every Redis key and channel ReachBell uses (several deployments can share one Redis). */
  redisKeyPrefix: string;
  /** Requests per minute per client IP, by rate-limit group (SPEC §6). */
  rateLimits: RateLimits;
  vapidSubject: string | undefined;
  pushAllowInsecureEndpoints: boolean;
  bodyLimitBytes: number;
  /** Partner and tenant tokens whose exp − iat exceeds this are refused. */
  partnerTokenMaxLifetimeSeconds: number;
  /** Browser origins allowed to call the API (CORS), for every route; empty = none. Partners can add their own. */
  corsOrigins: string[];
  /**
   * How long an in-flight send holds its Idempotency-Key and its frequency-cap slot without renewal
   * (renewed every third of it while it runs). After a crash, a retry takes the key over and a sweep
   * settles the pending messages once it has passed.
   */
  inFlightLeaseSeconds: number;
  /**
   * PostgreSQL only: bounds on database calls, in ms (see DbTimeouts in @reachbell/db). A database
   * that stops answering costs a request at most about connectMs + queryMs, then it is answered 503.
   */
  databaseTimeouts: DatabaseTimeouts;
  /** Longest wait for a Redis answer (ms); past it Redis counts as unreachable until it reconnects. */
  redisCommandTimeoutMs: number;
  /** Country/city from the client IP at registration: the bundled DB-IP files, one .mmdb file (GEOIP_DB), or off. */
  geoip: GeoIpSetting;
  /** The campaign fan-out engine (campaigns/engine.ts); see README "Campaigns: how the fan-out runs". */
  fanout: FanoutConfig;
}

export interface FanoutConfig {
  /** FANOUT: whether this process runs the engine (off for API-only instances; the lifecycle still works). */
  enabled: boolean;
  /** FANOUT_BATCH_SIZE: recipients given message rows per keyset step. */
  batchSize: number;
  /** FANOUT_CHUNK_SIZE: queued rows one sender claims at a time (pause/cancel wait for at most one chunk). */
  chunkSize: number;
  /** FANOUT_SEND_CONCURRENCY: pushes in flight per chunk. */
  sendConcurrency: number;
  /** FANOUT_LANES: slices this instance runs at once (across campaigns). */
  lanes: number;
  /** FANOUT_CHAINS: job chains per campaign, so several instances (lanes) share one campaign. */
  chains: number;
  /** FANOUT_SLICE_MS: work one job does before handing the campaign back to the queue (fairness). */
  sliceMs: number;
  /** FANOUT_POLL_MS: scheduler tick, and the longest an idle campaign (deferred rows only) or an empty queue waits. */
  pollMs: number;
  /** FANOUT_MAX_ATTEMPTS: push attempts per recipient (429/5xx/network) before failed/provider_error. */
  maxAttempts: number;
  /** FANOUT_STALL_SECONDS: a sending campaign with no slice for this long is re-enqueued by the supervisor. */
  stallSeconds: number;
  /** FANOUT_QUEUE_SCHEMA: PostgreSQL schema of the pg-boss tables. */
  queueSchema: string;
  /** FANOUT_CRYPTO_THREADS: worker threads encrypting campaign pushes (0: on the event loop). */
  cryptoThreads: number;
}

export const DEFAULT_FANOUT: FanoutConfig = {
  enabled: true,
  batchSize: 1000,
  chunkSize: 250,
  sendConcurrency: 64,
  lanes: 2,
  chains: 2,
  sliceMs: 1000,
  pollMs: 1000,
  maxAttempts: 5,
  stallSeconds: 20,
  queueSchema: "pgboss",
  cryptoThreads: 1,
};

export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free pooled one. */
  connectMs: number;
  /** One statement (the server cancels it); the client gives up on a silent connection a second later. */
  queryMs: number;
  /** The database check of /healthz. */
  pingMs: number;
}

const { connectMs, queryMs, pingMs } = DEFAULT_DB_TIMEOUTS;
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectMs, queryMs, pingMs };
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 500;

export interface RateLimits {
  default: number;
  ingest: number;
  auth: number;
}

/** SPEC §6: default 600/min, ingest 120/min; auth 10/min per IP against password guessing. */
export const DEFAULT_RATE_LIMITS: RateLimits = { default: 600, ingest: 120, auth: 10 };

const perMinute = (fallback: number) => z.coerce.number().int().min(1).max(1_000_000).default(fallback);

const millis = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const bool = z.enum(["true", "false", "1", "0", ""]).transform((v) => v === "true" || v === "1");

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z.string().optional(),
  JWT_SECRET: z.string().optional(),
  JWT_EXPIRES_IN: z.string().default("7d"),
  ENCRYPTION_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  TRUST_PROXY: z.string().regex(/^(true|false|\d+)$/, "must be true, false or a hop count").default("false"),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{0,64}$/, "letters, digits and : _ . - only (at most 64)").default("reachbell:"),
  RATE_LIMIT_DEFAULT: perMinute(DEFAULT_RATE_LIMITS.default),
  RATE_LIMIT_INGEST: perMinute(DEFAULT_RATE_LIMITS.ingest),
  RATE_LIMIT_AUTH: perMinute(DEFAULT_RATE_LIMITS.auth),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, "must be a mailto: or https: URL").optional(),
  PUSH_ALLOW_INSECURE_ENDPOINTS: bool.default(false),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(100_000),
  PARTNER_TOKEN_MAX_LIFETIME: z.string().default("24h"),
  CORS_ORIGINS: z.string().default(""),
  IN_FLIGHT_LEASE: z.string().default("30s"),
  DB_CONNECT_TIMEOUT_MS: millis(100, 600_000, DEFAULT_DATABASE_TIMEOUTS.connectMs),
  DB_QUERY_TIMEOUT_MS: millis(100, 3_600_000, DEFAULT_DATABASE_TIMEOUTS.queryMs),
  DB_HEALTH_TIMEOUT_MS: millis(100, 60_000, DEFAULT_DATABASE_TIMEOUTS.pingMs),
  REDIS_COMMAND_TIMEOUT_MS: millis(20, 60_000, DEFAULT_REDIS_COMMAND_TIMEOUT_MS),
  GEOIP_DB: z.string().optional(),
  FANOUT: z.enum(["on", "off"]).default("on"),
  FANOUT_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(DEFAULT_FANOUT.batchSize),
  FANOUT_CHUNK_SIZE: z.coerce.number().int().min(1).max(5000).default(DEFAULT_FANOUT.chunkSize),
  FANOUT_SEND_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(DEFAULT_FANOUT.sendConcurrency),
  FANOUT_LANES: z.coerce.number().int().min(1).max(64).default(DEFAULT_FANOUT.lanes),
  FANOUT_CHAINS: z.coerce.number().int().min(1).max(64).default(DEFAULT_FANOUT.chains),
  FANOUT_SLICE_MS: millis(50, 60_000, DEFAULT_FANOUT.sliceMs),
  FANOUT_POLL_MS: millis(10, 60_000, DEFAULT_FANOUT.pollMs),
  FANOUT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(DEFAULT_FANOUT.maxAttempts),
  FANOUT_STALL_SECONDS: z.coerce.number().int().min(2).max(3600).default(DEFAULT_FANOUT.stallSeconds),
  FANOUT_QUEUE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a lowercase PostgreSQL identifier").default(DEFAULT_FANOUT.queueSchema),
  FANOUT_CRYPTO_THREADS: z.coerce.number().int().min(0).max(64).default(DEFAULT_FANOUT.cryptoThreads),
});

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
}

/**
 * Loads `.env` from `cwd` into process.env when the file exists, with Node's own parser
 * (process.loadEnvFile). The real environment wins: a variable already set, even to "", is left
 * as it is, so `.env` only fills in what is unset. Returns the file's path when one was loaded.
 */
export function loadDotEnv(cwd = process.cwd()): string | undefined {
  const file = resolve(cwd, ".env");
  if (!existsSync(file)) return undefined;
  try {
    process.loadEnvFile(file);
  } catch (e) {
    throw new ConfigError([`${file}: ${(e as Error).message}`]);
  }
  return file;
}

/** Validates the environment. Outside production, missing secrets are generated and kept in ./data. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedConfig {
  const blank = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  let parsed = schema.safeParse(blank);
  const problems: string[] = [];
  const warnings: string[] = [];
  const invalid = new Set<string>();
  if (!parsed.success) {
    // Report these, then go on without them so the checks below report their problems too.
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join(".")}: ${issue.message}`);
      invalid.add(String(issue.path[0]));
    }
    parsed = schema.safeParse(Object.fromEntries(Object.entries(blank).filter(([k]) => !invalid.has(k))));
    if (!parsed.success) throw new ConfigError(problems);
  }
  const e = parsed.data;
  // An unreadable NODE_ENV may have meant production: check secrets strictly, generate none.
  const production = e.NODE_ENV === "production" || invalid.has("NODE_ENV");

  let jwtExpiresInSeconds = 0;
  try {
    jwtExpiresInSeconds = parseDuration(e.JWT_EXPIRES_IN);
  } catch (err) {
    problems.push(`JWT_EXPIRES_IN: ${(err as Error).message}`);
  }

  let partnerTokenMaxLifetimeSeconds = 0;
  try {
    partnerTokenMaxLifetimeSeconds = parseDuration(e.PARTNER_TOKEN_MAX_LIFETIME);
  } catch (err) {
    problems.push(`PARTNER_TOKEN_MAX_LIFETIME: ${(err as Error).message}`);
  }

  let inFlightLeaseSeconds = 0;
  try {
    inFlightLeaseSeconds = parseDuration(e.IN_FLIGHT_LEASE);
    if (inFlightLeaseSeconds > 3600) problems.push("IN_FLIGHT_LEASE: at most 1h");
  } catch (err) {
    problems.push(`IN_FLIGHT_LEASE: ${(err as Error).message}`);
  }

  let corsOrigins: string[] = [];
  try {
    corsOrigins = parseOriginList(e.CORS_ORIGINS);
  } catch (err) {
    problems.push(`CORS_ORIGINS: ${(err as Error).message}`);
  }

  let geoip: GeoIpSetting = "bundled";
  if (e.GEOIP_DB !== undefined) {
    if (e.GEOIP_DB.trim().toLowerCase() === "off") geoip = "off";
    else {
      const path = resolve(cwd, e.GEOIP_DB);
      if (!existsSync(path) || !statSync(path).isFile()) problems.push(`GEOIP_DB: no such file: ${path} (a .mmdb file, or off to disable geo-IP)`);
      else geoip = { path };
    }
  }

  let dev: DevSecrets | undefined;
  const devSecrets = () => (dev ??= loadDevSecrets(resolve(cwd, "data", "dev-secrets.json")));

  let jwtSecret: Uint8Array | undefined;
  if (e.JWT_SECRET !== undefined) {
    if (Buffer.byteLength(e.JWT_SECRET) < 32) problems.push("JWT_SECRET: must be at least 32 bytes");
    else jwtSecret = new TextEncoder().encode(e.JWT_SECRET);
  } else if (production) {
    problems.push("JWT_SECRET: required in production (at least 32 bytes)");
  } else {
    jwtSecret = new TextEncoder().encode(devSecrets().jwtSecret);
    warnings.push("JWT_SECRET is not set: using a generated development secret from data/dev-secrets.json. Never do this in production.");
  }

  let encryptionKey: Buffer | undefined;
  if (e.ENCRYPTION_KEY !== undefined) {
    try {
      encryptionKey = parseEncryptionKey(e.ENCRYPTION_KEY);
    } catch (err) {
      problems.push(`ENCRYPTION_KEY: ${(err as Error).message}`);
    }
  } else if (production) {
    problems.push("ENCRYPTION_KEY: required in production (32 bytes as 64 hex characters or base64)");
  } else {
    encryptionKey = parseEncryptionKey(devSecrets().encryptionKey);
    warnings.push("ENCRYPTION_KEY is not set: using a generated development key from data/dev-secrets.json. Never do this in production.");
  }

  if (production && !e.VAPID_SUBJECT) problems.push("VAPID_SUBJECT: required in production (mailto: or https: URL)");
  if (e.PUSH_ALLOW_INSECURE_ENDPOINTS) {
    if (production) problems.push("PUSH_ALLOW_INSECURE_ENDPOINTS: must not be enabled in production");
    else warnings.push("PUSH_ALLOW_INSECURE_ENDPOINTS is on: push endpoints on http: and private addresses are allowed (testing only).");
  }

  // The supervisor must not take a live campaign for a stalled one: a slice plus an idle wait fit well inside.
  if (e.FANOUT_STALL_SECONDS * 1000 < 2 * (e.FANOUT_SLICE_MS + e.FANOUT_POLL_MS)) problems.push("FANOUT_STALL_SECONDS: must be at least twice FANOUT_SLICE_MS + FANOUT_POLL_MS");
  if (problems.length > 0 || !jwtSecret || !encryptionKey) throw new ConfigError(problems);
  const trustProxy = e.TRUST_PROXY === "true" ? 1 : e.TRUST_PROXY === "false" ? false : Number(e.TRUST_PROXY) || false;
  return {
    warnings,
    config: {
      nodeEnv: e.NODE_ENV,
      port: e.PORT,
      host: e.HOST,
      databaseUrl: e.DATABASE_URL,
      jwtSecret,
      jwtExpiresInSeconds,
      encryptionKey,
      logLevel: e.LOG_LEVEL,
      trustProxy,
      redisUrl: e.REDIS_URL,
      redisKeyPrefix: e.REDIS_KEY_PREFIX,
      rateLimits: { default: e.RATE_LIMIT_DEFAULT, ingest: e.RATE_LIMIT_INGEST, auth: e.RATE_LIMIT_AUTH },
      vapidSubject: e.VAPID_SUBJECT,
      pushAllowInsecureEndpoints: e.PUSH_ALLOW_INSECURE_ENDPOINTS,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      partnerTokenMaxLifetimeSeconds,
      corsOrigins,
      inFlightLeaseSeconds,
      databaseTimeouts: { connectMs: e.DB_CONNECT_TIMEOUT_MS, queryMs: e.DB_QUERY_TIMEOUT_MS, pingMs: e.DB_HEALTH_TIMEOUT_MS },
      redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      geoip,
      fanout: {
        enabled: e.FANOUT === "on",
        batchSize: e.FANOUT_BATCH_SIZE,
        chunkSize: e.FANOUT_CHUNK_SIZE,
        sendConcurrency: e.FANOUT_SEND_CONCURRENCY,
        lanes: e.FANOUT_LANES,
        chains: e.FANOUT_CHAINS,
        sliceMs: e.FANOUT_SLICE_MS,
        pollMs: e.FANOUT_POLL_MS,
        maxAttempts: e.FANOUT_MAX_ATTEMPTS,
        stallSeconds: e.FANOUT_STALL_SECONDS,
        queueSchema: e.FANOUT_QUEUE_SCHEMA,
        cryptoThreads: e.FANOUT_CRYPTO_THREADS,
      },
    },
  };
}

interface DevSecrets {
  jwtSecret: string;
  encryptionKey: string;
}

/** Development secrets survive restarts (tokens stay valid, encrypted VAPID keys stay readable). */
function loadDevSecrets(file: string): DevSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as DevSecrets;
  const secrets = { jwtSecret: randomBytes(32).toString("base64url"), encryptionKey: randomBytes(32).toString("hex") };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

/** A complete config for tests and benchmarks: fixed-size random secrets, no files. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    nodeEnv: "test",
    port: 0,
    host: "127.0.0.1",
    databaseUrl: undefined,
    jwtSecret: randomBytes(32),
    jwtExpiresInSeconds: 7 * 86400,
    encryptionKey: randomBytes(32),
    logLevel: "silent",
    trustProxy: false,
    redisUrl: undefined,
    redisKeyPrefix: "reachbell:",
    // Generous, so suites that register many users from 127.0.0.1 are not throttled; the rate-limit
    // suites pass DEFAULT_RATE_LIMITS (or smaller numbers) explicitly.
    rateLimits: { default: 100_000, ingest: 100_000, auth: 100_000 },
    vapidSubject: "mailto:ops@reachbell.test",
    pushAllowInsecureEndpoints: true,
    bodyLimitBytes: 100_000,
    partnerTokenMaxLifetimeSeconds: 24 * 3600,
    corsOrigins: [],
    inFlightLeaseSeconds: 30,
    databaseTimeouts: { ...DEFAULT_DATABASE_TIMEOUTS },
    redisCommandTimeoutMs: DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    // Off unless a suite turns it on: most suites send public X-Forwarded-For addresses and need no 60 MB database.
    geoip: "off",
    // Tests start the engine themselves (app.deps.fanout.start()); fast ticks so they never wait long.
    fanout: { ...DEFAULT_FANOUT, pollMs: 50, sliceMs: 200, stallSeconds: 5 },
    ...overrides,
  };
}

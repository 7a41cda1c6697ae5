import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDuration, parseEncryptionKey } from "@reachbell/auth";
import { z } from "zod";

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
  vapidSubject: string | undefined;
  pushAllowInsecureEndpoints: boolean;
  bodyLimitBytes: number;
  /** Partner and tenant tokens whose exp − iat exceeds this are refused. */
  partnerTokenMaxLifetimeSeconds: number;
}

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
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, "must be a mailto: or https: URL").optional(),
  PUSH_ALLOW_INSECURE_ENDPOINTS: bool.default(false),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(100_000),
  PARTNER_TOKEN_MAX_LIFETIME: z.string().default("24h"),
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

/** Validates the environment. Outside production, missing secrets are generated and kept in ./data. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedConfig {
  const blank = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const parsed = schema.safeParse(blank);
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";

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
      vapidSubject: e.VAPID_SUBJECT,
      pushAllowInsecureEndpoints: e.PUSH_ALLOW_INSECURE_ENDPOINTS,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      partnerTokenMaxLifetimeSeconds,
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
    vapidSubject: "mailto:ops@reachbell.test",
    pushAllowInsecureEndpoints: true,
    bodyLimitBytes: 100_000,
    partnerTokenMaxLifetimeSeconds: 24 * 3600,
    ...overrides,
  };
}

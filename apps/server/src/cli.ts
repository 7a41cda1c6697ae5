import { parseArgs } from "node:util";
import { SecretBox, parseDuration } from "@reachbell/auth";
import { type Database, createDb, migrateToLatest } from "@reachbell/db";
import { type Config, ConfigError, loadConfig, loadDotEnv } from "./env";
import { createApp } from "./app";
import { parseOriginList } from "./http/origins";
import { createLogger } from "./logger";
import { setProjectRateLimitsCommand } from "./rate-limit/admin";
import { type PartnerStore, createPartner, deletePartner, listPartners, rotatePartnerSecret, setPartnerOrigins } from "./services/partners";

// Operator command line: `pnpm --silent reachbell <command>`. Results on stdout (one JSON document),
// warnings and errors on stderr, non-zero exit on failure. Same environment as the server.

const USAGE = `usage: reachbell <command>
  migrate                                        apply pending database migrations
  worker                                         run only the campaign fan-out (no HTTP API); stops on SIGTERM/SIGINT
  partner create --name NAME                     create a partner; prints {"partnerId","secret"} (the secret is shown only once)
  partner list                                   list partners and their secrets' validity (never the secrets)
  partner rotate-secret --id ID [--overlap 24h]  issue a new secret; the current ones keep verifying for the overlap (0 = stop now)
  partner set-origins --id ID --origins LIST     browser origins (comma-separated, "" for none) allowed with this partner's tenant tokens
  partner delete --id ID                         delete a partner: its tokens stop verifying; its tenants' data stays
  project set-rate-limits --id ID [--default N] [--ingest N] [--clear]
                                                 a project's raised requests/minute per client IP (--clear: back to the server's limits)`;

class UsageError extends Error {}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function withDatabase<T>(config: Config, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = createDb(config.databaseUrl);
  try {
    return await fn(database);
  } finally {
    await database.destroy();
  }
}

function loadConfigForCli(): Config {
  // Like the server: ./.env fills in what the environment leaves unset.
  loadDotEnv();
  const { config, warnings } = loadConfig();
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  return config;
}

function parseOverlap(value: string): number {
  if (/^0+\s*[smhd]?$/.test(value.trim())) return 0;
  try {
    return parseDuration(value);
  } catch (e) {
    throw new UsageError(`--overlap: ${(e as Error).message}`);
  }
}

async function partner(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { name: { type: "string" }, id: { type: "string" }, overlap: { type: "string" }, origins: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const need = (key: string): string => {
    const v = values[key];
    if (v === undefined || (key !== "origins" && v.trim() === "")) throw new UsageError(`partner ${sub}: --${key} is required`);
    return v;
  };
  const allowOnly = (...keys: string[]) => {
    for (const k of Object.keys(values)) if (!keys.includes(k)) throw new UsageError(`partner ${sub}: unexpected option --${k}`);
  };
  const commands: Record<string, () => Promise<unknown>> = {
    create: async () => (allowOnly("name"), run((s) => createPartner(s, need("name")))),
    list: async () => (allowOnly(), run((s) => listPartners(s))),
    "rotate-secret": async () => {
      allowOnly("id", "overlap");
      const overlap = parseOverlap(values.overlap ?? "24h");
      return run((s) => rotatePartnerSecret(s, need("id"), overlap));
    },
    "set-origins": async () => {
      allowOnly("id", "origins");
      // The same list syntax as CORS_ORIGINS (comma-separated, blanks ignored, normalized).
      const origins = parseOriginList(need("origins"));
      return run((s) => setPartnerOrigins(s, need("id"), origins));
    },
    delete: async () => (allowOnly("id"), run((s) => deletePartner(s, need("id")))),
  };
  const command = sub ? commands[sub] : undefined;
  if (!command) throw new UsageError(sub ? `unknown partner command: ${sub}` : "partner: a command is required");
  print(await command());
  return 0;
}

async function project(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "set-rate-limits") throw new UsageError(sub ? `unknown project command: ${sub}` : "project: a command is required");
  let values: { id?: string; default?: string; ingest?: string; clear?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { id: { type: "string" }, default: { type: "string" }, ingest: { type: "string" }, clear: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!values.id?.trim()) throw new UsageError("project set-rate-limits: --id is required");
  const change: { default?: number; ingest?: number } = {};
  for (const group of ["default", "ingest"] as const) {
    const v = values[group];
    if (v === undefined) continue;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${group}: a whole number of requests per minute`);
    change[group] = Number(v);
  }
  if (!values.clear && Object.keys(change).length === 0) throw new UsageError("project set-rate-limits: give --default, --ingest or --clear");
  print(await setProjectRateLimitsCommand(loadConfigForCli(), values.id, change, { clear: values.clear ?? false }));
  return 0;
}

/**
 * The fan-out alone, for operators who scale workers apart from the API: the same engine the server
 * starts (FANOUT is ignored: running it is the point), on the configured database, until a signal.
 */
async function worker(): Promise<number> {
  const base = loadConfigForCli();
  const config = { ...base, fanout: { ...base.fanout, enabled: true } };
  const logger = createLogger(config.logLevel);
  const database = createDb(config.databaseUrl, { timeouts: config.databaseTimeouts });
  await migrateToLatest(database.db, database.dialect);
  // createApp builds the dependencies (push sender, VAPID signers, clock) without listening.
  const app = createApp({ database, config, logger });
  await app.deps.fanout.start();
  logger.info("fan-out worker running", { database: database.description });
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info("shutting down", { signal });
  await app.deps.fanout.stop();
  await app.close().catch(() => {});
  await database.destroy();
  logger.info("stopped");
  return 0;
}

/** Opens the configured database (migrated, as the server would), runs `fn`, closes it. */
async function run<T>(fn: (store: PartnerStore) => Promise<T>): Promise<T> {
  const config = loadConfigForCli();
  return withDatabase(config, async (database) => {
    await migrateToLatest(database.db, database.dialect);
    return fn({ database, secrets: new SecretBox(config.encryptionKey), clock: () => new Date() });
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "migrate") {
    const config = loadConfigForCli();
    return withDatabase(config, async (database) => {
      const applied = await migrateToLatest(database.db, database.dialect);
      print({ database: database.description, applied });
      return 0;
    });
  }
  if (command === "worker") return worker();
  if (command === "partner") return partner(rest);
  if (command === "project") return project(rest);
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  throw new UsageError(command ? `unknown command: ${command}` : "a command is required");
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

import { createDb, migrateToLatest } from "@reachbell/db";
import { ConfigError, loadConfig } from "./env";

// Operator command line: `pnpm --silent reachbell <command>`. Results on stdout, errors on stderr.

const USAGE = `usage: reachbell <command>
  migrate            apply pending database migrations`;

async function run(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === "migrate") {
    const { config } = loadConfig();
    const database = createDb(config.databaseUrl);
    try {
      const applied = await migrateToLatest(database.db, database.dialect);
      process.stdout.write(`${JSON.stringify({ database: database.description, applied })}\n`);
      return 0;
    } finally {
      await database.destroy();
    }
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

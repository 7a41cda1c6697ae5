import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Socket, connect, createServer } from "node:net";
import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { type DB, QueryTimeoutError, createDb, createTestDb, markSuiteRan, migrateToLatest, migrations, newId, newSequentialId, parseDatabaseUrl, precompile, testDialects } from "../src";

describe("parseDatabaseUrl", () => {
  it("maps URLs to dialects", () => {
    expect(parseDatabaseUrl(undefined, "/srv")).toEqual({ dialect: "sqlite", file: "/srv/data/reachbell.db" });
    expect(parseDatabaseUrl("file:./x.db", "/srv")).toEqual({ dialect: "sqlite", file: "/srv/x.db" });
    expect(parseDatabaseUrl("/abs/y.db", "/srv")).toEqual({ dialect: "sqlite", file: "/abs/y.db" });
    expect(parseDatabaseUrl("postgres://u@h/db")).toEqual({ dialect: "postgres", url: "postgres://u@h/db" });
    expect(parseDatabaseUrl("postgresql://u@h/db").dialect).toBe("postgres");
    expect(() => parseDatabaseUrl("mysql://h/db")).toThrow(/unsupported/);
  });
});

describe("newId", () => {
  it("is prefixed, 26 Crockford chars, and sorts by time", () => {
    const a = newId("usr", 1_700_000_000_000);
    const b = newId("usr", 1_700_000_000_001);
    expect(a).toMatch(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId("sub"))).size).toBe(1000);
    // Many ids in one millisecond (the randomness comes from a pooled buffer, refilled as it runs out).
    const same = Array.from({ length: 2000 }, () => newId("tok", 1_700_000_000_000));
    expect(new Set(same).size).toBe(2000);
    for (const id of same) expect(id).toMatch(/^tok_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe("SQLite file databases", () => {
  it("are checkpointed by the worker while open (the writer's own threshold is far away), and keep every row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rb-db-test-"));
    const file = join(dir, "x.db");
    try {
      const database = createDb({ dialect: "sqlite", file });
      await migrateToLatest(database.db, "sqlite");
      const before = statSync(file).size;
      const now = new Date().toISOString();
      for (let i = 0; i < 300; i++) {
        await database.db.insertInto("users").values({ id: newId("usr"), email: `u${i}@x.test`, name: "x".repeat(500), passwordHash: "h", createdAt: now, updatedAt: now }).execute();
      }
      // Pages reach the database file only through a checkpoint; wait for the worker's.
      for (let waited = 0; statSync(file).size === before && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(statSync(file).size).toBeGreaterThan(before);
      await database.destroy();
      const reopened = createDb({ dialect: "sqlite", file });
      const { n } = await reopened.db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      expect(Number(n)).toBe(300);
      await reopened.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("newSequentialId", () => {
  it("has newId's shape, is unique and increases within a millisecond", () => {
    const ids = Array.from({ length: 1000 }, () => newSequentialId("req", 1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(newSequentialId("req", 1_700_000_000_000) < newSequentialId("req", 1_700_000_000_001)).toBe(true);
  });
});

for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`migrations [${d.dialect}]`, () => {
    it("apply once, are recorded, and enforce unique constraints in the database", async () => {
      const database = await createTestDb(d.dialect);
      try {
        const db = database.db;
        expect(await migrateToLatest(db, d.dialect)).toEqual([]); // already applied by createTestDb
        const rows = await sql<{ name: string }>`select name from schema_migrations order by name`.execute(db);
        expect(rows.rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
        const now = new Date().toISOString();
        await db.insertInto("users").values({ id: newId("usr"), email: "a@x.test", name: "A", passwordHash: "h", createdAt: now, updatedAt: now }).execute();
        // Emails are unique case-insensitively.
        await expect(
          db.insertInto("users").values({ id: newId("usr"), email: "A@X.test", name: "B", passwordHash: "h", createdAt: now, updatedAt: now }).execute(),
        ).rejects.toThrow();
        // Timestamps come back as the same ISO strings on both dialects.
        const u = await db.selectFrom("users").select("createdAt").executeTakeFirstOrThrow();
        expect(u.createdAt).toBe(now);
        expect(await database.ping()).toBe(true);
      } finally {
        await database.destroy();
      }
    });
  });
}

for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`precompile [${d.dialect}]`, () => {
    it("runs the SQL Kysely compiled with new values each time, rows camelCased as usual", async () => {
      const database = await createTestDb(d.dialect);
      try {
        const insert = precompile<{ id: string; email: string; now: string }, never>((db, p) =>
          (db as Kysely<DB>).insertInto("users").values({ id: p("id"), email: p("email"), name: "N", passwordHash: "h", createdAt: p("now"), updatedAt: p("now") }),
        );
        const byEmail = precompile<{ email: string }, { id: string; passwordHash: string; createdAt: string }>((db, p) =>
          (db as Kysely<DB>).selectFrom("users").select(["id", "passwordHash", "createdAt"]).where("email", "=", p("email")).where("name", "=", "N"),
        );
        const now = new Date().toISOString();
        for (const i of [1, 2, 3]) expect(Number((await insert.run(database, { id: `usr_${i}`, email: `${i}@x.test`, now })).numAffectedRows)).toBe(1);
        expect(await byEmail.execute(database, { email: "2@x.test" })).toEqual([{ id: "usr_2", passwordHash: "h", createdAt: now }]);
        expect(await byEmail.execute(database, { email: "nobody@x.test" })).toEqual([]);
        // Unique violations surface as the driver's errors, as with a built query.
        await expect(insert.run(database, { id: "usr_9", email: "1@x.test", now })).rejects.toThrow();
        await expect(byEmail.execute(database, {} as { email: string })).rejects.toThrow(/no value for parameter email/);

        // Batched writes issued together: each gets its own outcome, a duplicate fails alone, the rest commit.
        const results = await Promise.allSettled(
          ["a", "b", "1", "c", "c"].map((k, i) => insert.runBatched(database, { id: `usr_b${i}`, email: `${k}@x.test`, now })),
        );
        // On SQLite the batch runs in order, so the first "c" wins; on PostgreSQL the two run concurrently on
        // separate connections and either may: exactly one of them commits.
        const statuses = results.map((r) => r.status);
        expect(statuses.slice(0, 3)).toEqual(["fulfilled", "fulfilled", "rejected"]);
        if (d.dialect === "sqlite") expect(statuses.slice(3)).toEqual(["fulfilled", "rejected"]);
        else expect([...statuses.slice(3)].sort()).toEqual(["fulfilled", "rejected"]);
        for (const k of ["a", "b", "c"]) expect(await byEmail.execute(database, { email: `${k}@x.test` })).toHaveLength(1);
        expect(await byEmail.execute(database, { email: "1@x.test" })).toEqual([{ id: "usr_1", passwordHash: "h", createdAt: now }]);
        // An error other than a constraint (here a missing table) fails the whole batch: it is retried one by one.
        const bad = precompile<{ id: string }, never>((db, p) => (db as Kysely<any>).insertInto("no_such_table").values({ id: p("id") }));
        const mixed = await Promise.allSettled([insert.runBatched(database, { id: "usr_m1", email: "m1@x.test", now }), bad.runBatched(database, { id: "x" }), insert.runBatched(database, { id: "usr_m2", email: "m2@x.test", now })]);
        expect(mixed.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
        expect(await byEmail.execute(database, { email: "m2@x.test" })).toHaveLength(1);
      } finally {
        await database.destroy();
      }
    });
  });
}

/** A TCP forwarder on 127.0.0.1 whose existing connections can be frozen (data dropped both ways, nothing closed). */
async function freezableProxy(target: URL) {
  const links: { client: Socket; upstream: Socket; frozen: boolean }[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const link = { client, upstream, frozen: false };
    links.push(link);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on("error", () => {});
      from.on("data", (chunk) => {
        if (!link.frozen) to.write(chunk);
      });
      from.on("close", () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    freezeExisting: () => links.forEach((l) => (l.frozen = true)),
    close: () => {
      for (const l of links) l.client.destroy();
      server.close();
    },
  };
}

/** A server that accepts connections and never says a word (a partition after the TCP handshake). */
async function silentServer() {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    s.on("data", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `postgres://x@127.0.0.1:${(server.address() as { port: number }).port}/x`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("PostgreSQL calls are bounded", () => {
  it("a server that never answers: ping() is false and queries fail, both within their bounds", async () => {
    const silent = await silentServer();
    const database = createDb({ dialect: "postgres", url: silent.url }, { timeouts: { connectMs: 300, pingMs: 400, queryMs: 300 } });
    try {
      let started = Date.now();
      expect(await database.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
      started = Date.now();
      await expect(sql`select 1`.execute(database.db)).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await database.destroy();
      silent.close();
    }
  });

  const url = process.env.TEST_DATABASE_URL;
  (url ? describe : describe.skip)(`on PostgreSQL${url ? "" : " (skipped: TEST_DATABASE_URL is not set)"}`, () => {
    it("a connection that goes silent mid-query is closed, not returned to the pool: the next query gets a new one", async () => {
      markSuiteRan("postgres");
      const proxy = await freezableProxy(new URL(url!));
      const database = createDb({ dialect: "postgres", url: proxy.url }, { poolSize: 1, timeouts: { connectMs: 1000, queryMs: 300 } });
      try {
        await sql`select 1`.execute(database.db);
        proxy.freezeExisting();
        const started = Date.now();
        await expect(sql`select 1`.execute(database.db)).rejects.toBeInstanceOf(QueryTimeoutError);
        expect(Date.now() - started).toBeLessThan(3000);
        // One pooled connection, and it is the frozen one unless the pool dropped it.
        const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(database.db);
        expect(rows).toEqual([{ ok: 1 }]);
        expect(await database.ping()).toBe(true);
      } finally {
        await database.destroy();
        proxy.close();
      }
    });

    it("a statement past queryMs is cancelled by the server, unless its session holds an advisory lock (migrations)", async () => {
      markSuiteRan("postgres");
      const database = createDb({ dialect: "postgres", url: url! }, { poolSize: 2, timeouts: { queryMs: 300 } });
      try {
        await expect(sql`select pg_sleep(1)`.execute(database.db)).rejects.toMatchObject({ code: "57014" });
        expect(await database.ping()).toBe(true);
        await database.db.connection().execute(async (conn) => {
          await sql`select pg_advisory_lock(74110598)`.execute(conn);
          try {
            await sql`select pg_sleep(1.5)`.execute(conn); // past queryMs + the client's grace
          } finally {
            await sql`select pg_advisory_unlock(74110598)`.execute(conn);
          }
        });
        // That session is not handed to the next caller: the bound applies again.
        await expect(sql`select pg_sleep(1)`.execute(database.db)).rejects.toMatchObject({ code: "57014" });
        await expect(sql`select pg_sleep(1)`.execute(database.db)).rejects.toMatchObject({ code: "57014" });
      } finally {
        await database.destroy();
      }
    });
  });
});

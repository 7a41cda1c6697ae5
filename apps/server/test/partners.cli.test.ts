import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SecretBox } from "@reachbell/auth";
import { type Database, createDb } from "@reachbell/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app";
import { testConfig } from "../src/env";
import { partnerJwt } from "./partner-fixtures";

// The operator's command line in its own process (`node --import tsx src/cli.ts`, what
// `pnpm --silent reachbell` runs once built), against a temporary SQLite file, with the server's
// environment. Then a server on the same file checks that the secrets it printed really work.

const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const ENCRYPTION_KEY = "5e".repeat(32);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("reachbell partner …", () => {
  let dir: string;
  let env: Record<string, string>;
  let database: Database;
  let app: App;
  let url: string;
  let close: () => Promise<void>;

  const cli = (...args: string[]): Promise<Result> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  /** Runs a command that must succeed and print exactly one JSON document on one line. */
  const json = async (...args: string[]) => {
    const r = await cli(...args);
    if (r.code !== 0) throw new Error(`${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    const lines = r.stdout.split("\n");
    expect(lines.length, `stdout of ${args.join(" ")}: ${r.stdout}`).toBe(2);
    expect(lines[1]).toBe("");
    return JSON.parse(lines[0]!);
  };
  const listPartners = (token: string) => fetch(`${url}/partner/tenants`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "reachbell-cli-"));
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? dir,
      DATABASE_URL: join(dir, "reachbell.db"),
      ENCRYPTION_KEY,
      JWT_SECRET: "cli-test-jwt-secret-".padEnd(48, "x"),
    };
    // Migrate through the CLI first, so the server below finds the schema.
    await json("migrate");
    database = createDb(env.DATABASE_URL);
    app = createApp({ database, config: testConfig({ encryptionKey: Buffer.from(ENCRYPTION_KEY, "hex") }) });
    const listening = await app.listen(0, "127.0.0.1");
    url = listening.url;
    close = async () => {
      listening.server.closeAllConnections();
      await new Promise((r) => listening.server.close(r));
      await app.close();
      await database.destroy();
    };
  }, 60_000);
  afterAll(async () => {
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  let partnerId: string;
  let firstSecret: string;

  it("create prints {partnerId, secret} and nothing else; the secret has 256 bits and is stored only encrypted", async () => {
    const out = await json("partner", "create", "--name", "Acme Platform");
    expect(Object.keys(out).sort()).toEqual(["partnerId", "secret"]);
    expect(out.partnerId).toMatch(/^ptn_[0-9A-Z]{26}$/);
    expect(Buffer.from(out.secret, "base64url").length).toBeGreaterThanOrEqual(32);
    partnerId = out.partnerId;
    firstSecret = out.secret;

    const rows = await database.db.selectFrom("partnerSecrets").selectAll().where("partnerId", "=", partnerId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secretEnc).not.toContain(firstSecret);
    expect(new SecretBox(Buffer.from(ENCRYPTION_KEY, "hex")).open(rows[0]!.secretEnc, partnerId)).toBe(firstSecret);
    // The secret works at once.
    expect((await listPartners(await partnerJwt({ partnerId, secret: firstSecret }))).status).toBe(200);
  });

  it("list shows partners and their secrets' validity, never a secret", async () => {
    const r = await cli("partner", "list");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(firstSecret);
    const list = JSON.parse(r.stdout);
    const mine = list.find((p: { partnerId: string }) => p.partnerId === partnerId);
    expect(mine).toMatchObject({ name: "Acme Platform", allowedOrigins: [] });
    expect(mine.secrets).toEqual([{ id: expect.stringMatching(/^psk_/), createdAt: expect.any(String), expiresAt: null, active: true }]);
  });

  it("rotate-secret prints a new secret; the old one keeps verifying during the overlap", async () => {
    const out = await json("partner", "rotate-secret", "--id", partnerId, "--overlap", "2h");
    expect(out.partnerId).toBe(partnerId);
    expect(out.secret).not.toBe(firstSecret);
    const until = Date.parse(out.previousSecretsExpireAt) - Date.now();
    expect(until).toBeGreaterThan(2 * 3600_000 - 60_000);
    expect(until).toBeLessThanOrEqual(2 * 3600_000);
    expect((await listPartners(await partnerJwt({ partnerId, secret: firstSecret }))).status).toBe(200);
    expect((await listPartners(await partnerJwt({ partnerId, secret: out.secret }))).status).toBe(200);

    // --overlap 0 ends every earlier secret now (a leaked secret).
    const now = await json("partner", "rotate-secret", "--id", partnerId, "--overlap", "0");
    expect((await listPartners(await partnerJwt({ partnerId, secret: firstSecret }))).status).toBe(401);
    expect((await listPartners(await partnerJwt({ partnerId, secret: out.secret }))).status).toBe(401);
    expect((await listPartners(await partnerJwt({ partnerId, secret: now.secret }))).status).toBe(200);
  });

  it("the default overlap is 24 h", async () => {
    const out = await json("partner", "rotate-secret", "--id", partnerId);
    const until = Date.parse(out.previousSecretsExpireAt) - Date.now();
    expect(until).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(until).toBeLessThanOrEqual(24 * 3600_000);
  });

  it("set-origins stores normalized browser origins for the partner", async () => {
    const out = await json("partner", "set-origins", "--id", partnerId, "--origins", "https://App.example.com, http://localhost:5173");
    expect(out).toEqual({ partnerId, allowedOrigins: ["https://app.example.com", "http://localhost:5173"] });
    expect(await json("partner", "set-origins", "--id", partnerId, "--origins", "")).toEqual({ partnerId, allowedOrigins: [] });
  });

  it("delete removes the partner: its tokens stop verifying", async () => {
    const p = await json("partner", "create", "--name", "Short-lived");
    expect((await listPartners(await partnerJwt(p))).status).toBe(200);
    expect(await json("partner", "delete", "--id", p.partnerId)).toEqual({ partnerId: p.partnerId, deleted: true });
    expect((await listPartners(await partnerJwt(p))).status).toBe(401);
  });

  it("errors go to stderr with a non-zero exit and nothing on stdout", async () => {
    const cases = [
      ["partner", "create"],
      ["partner", "create", "--name", ""],
      ["partner", "create", "--name", "x", "--bogus"],
      ["partner", "rotate-secret", "--id", "ptn_nope"],
      ["partner", "rotate-secret", "--id", partnerId, "--overlap", "soon"],
      ["partner", "set-origins", "--id", partnerId, "--origins", "https://a.example/path"],
      ["partner", "delete", "--id", "ptn_nope"],
      ["partner", "frobnicate"],
      ["partner"],
      ["nonsense"],
    ];
    // Concurrently: each is a process start.
    const results = await Promise.all(cases.map((args) => cli(...args)));
    for (const [i, r] of results.entries()) {
      const args = cases[i]!;
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stdout, args.join(" ")).toBe("");
      expect(r.stderr, args.join(" ")).toMatch(/^error: /m);
    }
  });

  it("a bad environment is reported on stderr, like the server does", async () => {
    const saved = env;
    env = { ...env, ENCRYPTION_KEY: "too-short" };
    try {
      const r = await cli("partner", "list");
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/ENCRYPTION_KEY/);
    } finally {
      env = saved;
    }
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/env";

const JWT_SECRET = "j".repeat(40);
const ENCRYPTION_KEY = "ab".repeat(32);
const PROD = { NODE_ENV: "production", JWT_SECRET, ENCRYPTION_KEY, VAPID_SUBJECT: "mailto:ops@example.test" };

const dirs: string[] = [];
const tempCwd = () => {
  const d = mkdtempSync(join(tmpdir(), "reachbell-config-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Loads a config that must fail; returns its problems. */
function problemsOf(env: Record<string, string>, cwd = tempCwd()): string[] {
  try {
    loadConfig(env, cwd);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    // The message lists each problem on its own line.
    for (const p of err.problems) expect(err.message).toContain(p);
    return err.problems;
  }
  throw new Error("expected a ConfigError");
}

/** Exactly one problem names `variable`. */
const oneAbout = (problems: string[], variable: string) => {
  const about = problems.filter((p) => p.startsWith(`${variable}:`));
  expect(about, `${variable} in ${JSON.stringify(problems)}`).toHaveLength(1);
  return about[0]!;
};

describe("loadConfig in production", () => {
  it("a complete production environment loads with no warnings and writes nothing", () => {
    const cwd = tempCwd();
    const { config, warnings } = loadConfig({ ...PROD, PORT: "8080", DATABASE_URL: "postgres://db/x" }, cwd);
    expect(warnings).toEqual([]);
    expect(config.nodeEnv).toBe("production");
    expect(config.port).toBe(8080);
    expect(Buffer.from(config.jwtSecret).toString()).toBe(JWT_SECRET);
    expect(config.encryptionKey.equals(Buffer.from(ENCRYPTION_KEY, "hex"))).toBe(true);
    expect(config.databaseUrl).toBe("postgres://db/x");
    expect(existsSync(join(cwd, "data"))).toBe(false);
  });

  it("refuses to start without JWT_SECRET and ENCRYPTION_KEY, listing both at once", () => {
    const cwd = tempCwd();
    const problems = problemsOf({ NODE_ENV: "production", VAPID_SUBJECT: PROD.VAPID_SUBJECT }, cwd);
    expect(problems).toHaveLength(2);
    expect(oneAbout(problems, "JWT_SECRET")).toMatch(/required/i);
    expect(oneAbout(problems, "ENCRYPTION_KEY")).toMatch(/required/i);
    // No development secrets were generated for a production start.
    expect(existsSync(join(cwd, "data", "dev-secrets.json"))).toBe(false);
  });

  it("empty values count as missing", () => {
    const problems = problemsOf({ ...PROD, JWT_SECRET: "", ENCRYPTION_KEY: "" });
    expect(oneAbout(problems, "JWT_SECRET")).toMatch(/required/i);
    expect(oneAbout(problems, "ENCRYPTION_KEY")).toMatch(/required/i);
  });

  it("a JWT_SECRET under 32 bytes is refused", () => {
    const problems = problemsOf({ ...PROD, JWT_SECRET: "short-secret" });
    expect(problems).toHaveLength(1);
    expect(oneAbout(problems, "JWT_SECRET")).toMatch(/32 bytes/);
    expect(loadConfig({ ...PROD, JWT_SECRET: "x".repeat(32) }, tempCwd()).config.jwtSecret.byteLength).toBe(32);
  });

  it("an ENCRYPTION_KEY that is not 32 bytes (hex or base64) is refused", () => {
    for (const key of ["abc", "zz".repeat(32), "ab".repeat(31), Buffer.alloc(16).toString("base64")]) {
      const problems = problemsOf({ ...PROD, ENCRYPTION_KEY: key });
      expect(problems, key).toHaveLength(1);
      expect(oneAbout(problems, "ENCRYPTION_KEY")).toMatch(/32 bytes/);
    }
    const b64 = Buffer.alloc(32, 7).toString("base64");
    expect(loadConfig({ ...PROD, ENCRYPTION_KEY: b64 }, tempCwd()).config.encryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it("reports every problem at once, one clear message each", () => {
    const problems = problemsOf({ NODE_ENV: "production", JWT_SECRET: "short", ENCRYPTION_KEY: "nope", JWT_EXPIRES_IN: "forever" });
    expect(oneAbout(problems, "JWT_SECRET")).toMatch(/32 bytes/);
    expect(oneAbout(problems, "ENCRYPTION_KEY")).toMatch(/32 bytes/);
    expect(oneAbout(problems, "JWT_EXPIRES_IN")).toMatch(/forever/);
    expect(oneAbout(problems, "VAPID_SUBJECT")).toMatch(/mailto:/);
    expect(problems).toHaveLength(4);
  });

  it("a malformed variable does not hide the missing secrets", () => {
    const problems = problemsOf({ NODE_ENV: "production", PORT: "http", LOG_LEVEL: "loud" });
    oneAbout(problems, "PORT");
    oneAbout(problems, "LOG_LEVEL");
    expect(oneAbout(problems, "JWT_SECRET")).toMatch(/required/i);
    expect(oneAbout(problems, "ENCRYPTION_KEY")).toMatch(/required/i);
  });

  it("a mistyped NODE_ENV is reported and does not fall back to generated development secrets", () => {
    const cwd = tempCwd();
    const problems = problemsOf({ NODE_ENV: "prod" }, cwd);
    oneAbout(problems, "NODE_ENV");
    oneAbout(problems, "JWT_SECRET");
    oneAbout(problems, "ENCRYPTION_KEY");
    expect(existsSync(join(cwd, "data", "dev-secrets.json"))).toBe(false);
  });

  it("insecure push endpoints cannot be enabled in production", () => {
    const problems = problemsOf({ ...PROD, PUSH_ALLOW_INSECURE_ENDPOINTS: "true" });
    expect(problems).toHaveLength(1);
    oneAbout(problems, "PUSH_ALLOW_INSECURE_ENDPOINTS");
  });
});

describe("loadConfig in development", () => {
  it("without secrets: loud warnings, and generated secrets kept in data/dev-secrets.json and reused", () => {
    const cwd = tempCwd();
    const first = loadConfig({}, cwd);
    expect(first.config.nodeEnv).toBe("development");
    expect(first.warnings.filter((w) => w.startsWith("JWT_SECRET"))).toHaveLength(1);
    expect(first.warnings.filter((w) => w.startsWith("ENCRYPTION_KEY"))).toHaveLength(1);
    for (const w of first.warnings) expect(w).toMatch(/production/);
    const file = join(cwd, "data", "dev-secrets.json");
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, "utf8"));
    expect(Buffer.from(first.config.jwtSecret).toString()).toBe(saved.jwtSecret);
    expect(first.config.jwtSecret.byteLength).toBeGreaterThanOrEqual(32);
    expect(first.config.encryptionKey).toHaveLength(32);
    expect(first.config.encryptionKey.toString("hex")).toBe(saved.encryptionKey);

    const second = loadConfig({}, cwd);
    expect(Buffer.from(second.config.jwtSecret).equals(Buffer.from(first.config.jwtSecret))).toBe(true);
    expect(second.config.encryptionKey.equals(first.config.encryptionKey)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(JSON.stringify(saved, null, 2));

    // Another folder gets other secrets.
    const elsewhere = loadConfig({}, tempCwd());
    expect(Buffer.from(elsewhere.config.jwtSecret).equals(Buffer.from(first.config.jwtSecret))).toBe(false);
  });

  it("with secrets given: no warnings and no file", () => {
    const cwd = tempCwd();
    const { warnings, config } = loadConfig({ JWT_SECRET, ENCRYPTION_KEY }, cwd);
    expect(warnings).toEqual([]);
    expect(Buffer.from(config.jwtSecret).toString()).toBe(JWT_SECRET);
    expect(existsSync(join(cwd, "data"))).toBe(false);
  });

  it("a given secret still has to be valid outside production", () => {
    const problems = problemsOf({ JWT_SECRET: "short", ENCRYPTION_KEY: "bad" });
    oneAbout(problems, "JWT_SECRET");
    oneAbout(problems, "ENCRYPTION_KEY");
  });

  it("defaults: port 3000, 7 day tokens, 100 kB bodies, no proxy trust", () => {
    const { config } = loadConfig({ JWT_SECRET, ENCRYPTION_KEY }, tempCwd());
    expect(config.port).toBe(3000);
    expect(config.jwtExpiresInSeconds).toBe(7 * 86400);
    expect(config.bodyLimitBytes).toBe(100_000);
    expect(config.trustProxy).toBe(false);
    expect(config.databaseUrl).toBeUndefined();
  });
});

describe("loadConfig: individual variables", () => {
  const base = { JWT_SECRET, ENCRYPTION_KEY };

  it("a bad PORT is an error naming PORT", () => {
    for (const PORT of ["abc", "70000", "-1", "80.5"]) {
      const problems = problemsOf({ ...base, PORT });
      expect(problems, PORT).toHaveLength(1);
      oneAbout(problems, "PORT");
    }
    expect(loadConfig({ ...base, PORT: "0" }, tempCwd()).config.port).toBe(0);
    expect(loadConfig({ ...base, PORT: "65535" }, tempCwd()).config.port).toBe(65535);
  });

  it("JWT_EXPIRES_IN takes durations", () => {
    expect(loadConfig({ ...base, JWT_EXPIRES_IN: "12h" }, tempCwd()).config.jwtExpiresInSeconds).toBe(43_200);
    expect(loadConfig({ ...base, JWT_EXPIRES_IN: "90" }, tempCwd()).config.jwtExpiresInSeconds).toBe(90);
    oneAbout(problemsOf({ ...base, JWT_EXPIRES_IN: "soon" }), "JWT_EXPIRES_IN");
    oneAbout(problemsOf({ ...base, JWT_EXPIRES_IN: "0" }), "JWT_EXPIRES_IN");
  });

  it("TRUST_PROXY is false, true (one hop) or a hop count", () => {
    expect(loadConfig({ ...base, TRUST_PROXY: "true" }, tempCwd()).config.trustProxy).toBe(1);
    expect(loadConfig({ ...base, TRUST_PROXY: "2" }, tempCwd()).config.trustProxy).toBe(2);
    expect(loadConfig({ ...base, TRUST_PROXY: "false" }, tempCwd()).config.trustProxy).toBe(false);
    oneAbout(problemsOf({ ...base, TRUST_PROXY: "maybe" }), "TRUST_PROXY");
  });

  it("NODE_ENV, LOG_LEVEL, REDIS_URL and VAPID_SUBJECT are checked", () => {
    oneAbout(problemsOf({ ...base, NODE_ENV: "staging" }), "NODE_ENV");
    oneAbout(problemsOf({ ...base, LOG_LEVEL: "verbose" }), "LOG_LEVEL");
    oneAbout(problemsOf({ ...base, REDIS_URL: "http://cache" }), "REDIS_URL");
    oneAbout(problemsOf({ ...base, VAPID_SUBJECT: "ops@example.test" }), "VAPID_SUBJECT");
  });

  it("unrelated variables are ignored", () => {
    expect(() => loadConfig({ ...base, PATH: "/usr/bin", HOME: "/root", SOMETHING_ELSE: "x" }, tempCwd())).not.toThrow();
  });
});

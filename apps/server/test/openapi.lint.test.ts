import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../src/http/openapi";

// The OpenAPI document passes both linters with no error and no warning: Redocly CLI (redocly.yaml:
// `recommended` plus example validation) and Spectral (.spectral.yaml: `spectral:oas`). Both run from
// node_modules/.bin on a temporary copy of the document, offline (no telemetry, no update check).

const SERVER = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(SERVER, "node_modules", ".bin");
const ENV = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1", FORCE_COLOR: "0" };

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(BIN, cmd), args, { cwd: SERVER, env: ENV, maxBuffer: 64 * 1024 * 1024, timeout: 25_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON value a CLI printed on stdout (some print a banner before it). */
function jsonOutput(stdout: string, open: "{" | "["): any {
  const start = stdout.indexOf(open);
  if (start < 0) throw new Error(`no JSON in the output:\n${stdout}`);
  return JSON.parse(stdout.slice(start));
}

describe("OpenAPI document lint", () => {
  let dir: string;
  let redocly: ReturnType<typeof run>;
  let spectral: ReturnType<typeof run>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "reachbell-openapi-"));
    const file = join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(buildOpenApiDocument(), null, 2));
    // Both at once: each takes a few seconds, mostly starting up.
    redocly = run("redocly", ["lint", file, "--config", join(SERVER, "redocly.yaml"), "--format", "json"]);
    // Spectral's JSON goes to a file: on stdout it is followed by a "No results…" line.
    spectral = run("spectral", ["lint", file, "--ruleset", join(SERVER, ".spectral.yaml"), "--format", "json", "--output", join(dir, "spectral.json"), "--fail-severity", "hint"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("Redocly CLI (recommended): no errors, no warnings", async () => {
    const res = await redocly;
    const report = jsonOutput(res.stdout, "{");
    const problems: string[] = (report.problems ?? []).map(
      (p: any) => `${p.severity} ${p.ruleId}: ${p.message} at ${(p.location ?? []).map((l: any) => l.pointer).join(", ")}`,
    );
    expect(problems, `Redocly problems:\n${problems.join("\n")}\n${res.stderr}`).toEqual([]);
    expect(report.totals, JSON.stringify(report.totals)).toMatchObject({ errors: 0, warnings: 0 });
    expect(res.code, res.stderr).toBe(0);
  });

  it("Spectral (spectral:oas): no problems of any severity", async () => {
    const res = await spectral;
    const results: any[] = JSON.parse(readFileSync(join(dir, "spectral.json"), "utf8"));
    const SEVERITY = ["error", "warning", "info", "hint"];
    const problems = results.map((r) => `${SEVERITY[r.severity] ?? r.severity} ${r.code}: ${r.message} at ${(r.path ?? []).join(".")}`);
    expect(problems, `Spectral problems:\n${problems.join("\n")}\n${res.stderr}`).toEqual([]);
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
  });
});

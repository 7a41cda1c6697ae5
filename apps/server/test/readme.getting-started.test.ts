import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, call, startServer } from "./support";

// The README's "Getting started" block, run as it is with bash against a real server (SQLite), so it
// cannot rot: every step must succeed (set -e, pipefail, curl -f) and end by printing the message.

const README = new URL("../../../README.md", import.meta.url);

/** The first ```sh block under "## Getting started". */
function gettingStartedBlock(): string {
  const readme = readFileSync(README, "utf8");
  const section = /^## Getting started\n([\s\S]*?)(?=^## )/m.exec(readme);
  if (!section) throw new Error('README.md has no "## Getting started" section');
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section[1]!);
  if (!block) throw new Error('"## Getting started" has no ```sh block');
  return block[1]!;
}

const VARS = ["TOKEN", "ORG", "PROJECT", "KEY", "SUBSCRIBER", "MESSAGE"] as const;

describe("README: Getting started", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("sqlite");
  });
  afterAll(async () => {
    await server?.close();
  });

  it("the curl walk-through runs: register → x-org-id → sandbox project → API key → subscriber → send → read the message", async () => {
    const block = gettingStartedBlock();
    expect(block).toMatch(/^BASE=\$\{BASE:-http:\/\/localhost:3000\}$/m);
    // After the block: the variables each step set, for the checks below.
    const script = ["set -euo pipefail", block, "echo", "echo '--- vars'", ...VARS.map((v) => `echo "${v}=$${v}"`)].join("\n");
    // Asynchronously: the server runs in this process and must keep answering.
    const { stdout } = await promisify(execFile)("bash", ["-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BASE: server.url }, timeout: 60_000 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`the README block failed: ${e.message}\nstdout:\n${e.stdout}\nstderr:\n${e.stderr}`);
      },
    );
    const [printed, varLines] = stdout.split("\n--- vars\n") as [string, string];
    const vars = Object.fromEntries(varLines.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

    // 1. register
    expect(vars.TOKEN).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(vars.ORG).toMatch(/^org_/);
    // 2. a sandbox project in that organization
    expect(vars.PROJECT).toMatch(/^proj_/);
    const project = await call(server, "GET", `/projects/${vars.PROJECT}`, { token: vars.TOKEN, orgId: vars.ORG });
    expect(project.status).toBe(200);
    expect(project.body.environment).toBe("sandbox");
    // 3. its sandbox key
    expect(vars.KEY).toMatch(/^rb_test_/);
    // 4. the subscriber, registered from the toJSON() shape
    expect(vars.SUBSCRIBER).toMatch(/^tok_/);
    const subscribers = await call(server, "GET", `/subscribers/project/${vars.PROJECT}`, { apiKey: vars.KEY });
    expect(subscribers.body.data).toHaveLength(1);
    expect(subscribers.body.data[0]).toMatchObject({ token: vars.SUBSCRIBER, status: "active", endpoint: "https://fcm.googleapis.com/fcm/send/getting-started" });
    // 5. the send
    expect(vars.MESSAGE).toMatch(/^msg_/);
    // 6. the block ends by printing the message: simulated (sandbox), with the title and body sent.
    const message = JSON.parse(printed);
    expect(message).toMatchObject({
      id: vars.MESSAGE,
      projectId: vars.PROJECT,
      subscriberId: subscribers.body.data[0].id,
      kind: "transactional",
      sandbox: true,
      status: "simulated",
      payload: { title: "Hello", body: "Your first push" },
    });
    expect(message).toEqual((await call(server, "GET", `/messages/${vars.MESSAGE}`, { apiKey: vars.KEY })).body);
  }, 90_000);
});

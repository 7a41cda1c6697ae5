import { execFileSync } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type App, createApp, createDb, migrateToLatest, testConfig } from "@reachbell/server";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { type ErrorEnvelope, createReachBellClient } from "../src/index";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("generated types", () => {
  it("src/schema.d.ts is what `pnpm generate` makes of the committed OpenAPI snapshot", () => {
    const dir = mkdtempSync(join(tmpdir(), "reachbell-client-"));
    try {
      const out = join(dir, "schema.d.ts");
      // The very command of the `generate` script, writing elsewhere.
      const script = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).scripts.generate as string;
      const [, snapshot] = script.split(" ");
      execFileSync(process.execPath, [join(pkg, "node_modules/openapi-typescript/bin/cli.js"), snapshot!, "-o", out], { cwd: pkg, stdio: "pipe" });
      const committed = readFileSync(join(pkg, "src/schema.d.ts"), "utf8");
      expect(committed === readFileSync(out, "utf8"), "src/schema.d.ts is stale: run `pnpm api:update` at the root (or `pnpm generate` in packages/client)").toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

/** A browser's PushSubscription keys: a P-256 public key (65 bytes, uncompressed) and a 16-byte secret, base64url. */
function subscriptionKeys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

describe("getting started with the client, against the real server", () => {
  let app: App;
  let server: Server;
  let baseUrl: string;
  let destroyDb: () => Promise<void>;

  beforeAll(async () => {
    const database = createDb({ dialect: "sqlite", file: ":memory:" });
    await migrateToLatest(database.db, "sqlite");
    destroyDb = () => database.destroy();
    app = createApp({ database, config: testConfig() });
    ({ server, url: baseUrl } = await app.listen(0, "127.0.0.1"));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      server?.closeAllConnections();
    });
    await app?.close();
    await destroyDb?.();
  });

  it("register → sandbox project → API key → subscriber → transactional send → message", async () => {
    const anonymous = createReachBellClient({ baseUrl });
    const email = `client-${Date.now().toString(36)}@example.test`;
    const reg = await anonymous.POST("/auth/register", { body: { email, password: "correct horse battery", name: "Ada", organizationName: "Acme" } });
    expect(reg.response.status).toBe(201);
    if (!reg.data) throw new Error(JSON.stringify(reg.error));
    expectTypeOf(reg.data.access_token).toEqualTypeOf<string>();
    const orgId = reg.data.user.organizations[0]!.id;

    const dashboard = createReachBellClient({ baseUrl, token: reg.data.access_token, orgId });
    const me = await dashboard.GET("/auth/me");
    expect(me.data?.email).toBe(email);

    const project = await dashboard.POST("/projects", { body: { name: "Docs site", environment: "sandbox" } });
    expect(project.response.status).toBe(201);
    if (!project.data) throw new Error(JSON.stringify(project.error));
    const projectId = project.data.id;

    const list = await dashboard.GET("/projects", { params: { query: { limit: 5 } } });
    expect(list.data?.data.map((p) => p.id)).toEqual([projectId]);

    const key = await dashboard.POST("/projects/{projectId}/api-keys", { params: { path: { projectId } }, body: { name: "backend" } });
    if (!key.data) throw new Error(JSON.stringify(key.error));
    expect(key.data.key.startsWith("rb_test_")).toBe(true);

    const backend = createReachBellClient({ baseUrl, apiKey: key.data.key });
    const sub = await backend.POST("/subscribers", { body: { endpoint: "https://push.example.test/send/client-test", ...subscriptionKeys() } });
    expect(sub.response.status).toBe(201);
    if (!sub.data) throw new Error(JSON.stringify(sub.error));

    const sent = await backend.POST("/transactional/send", { body: { token: sub.data.token, title: "Hello", body: "World" } });
    if (!sent.data) throw new Error(JSON.stringify(sent.error));
    expect(sent.data).toMatchObject({ success: true, sandbox: true, reason: null });
    const messageId = sent.data.messageId;
    if (!messageId) throw new Error("no message id");

    const message = await backend.GET("/messages/{id}", { params: { path: { id: messageId } } });
    if (!message.data) throw new Error(JSON.stringify(message.error));
    expect(message.data).toMatchObject({ id: messageId, subscriberId: sub.data.id, status: "simulated", sandbox: true });
    expectTypeOf(message.data.status).toEqualTypeOf<"queued" | "pending" | "delivered" | "simulated" | "failed" | "skipped">();
    expect(message.data.payload.title).toBe("Hello");
  });

  it("failures come back as the typed error envelope", async () => {
    const stranger = createReachBellClient({ baseUrl, apiKey: "rb_test_not-a-key" });
    const res = await stranger.GET("/messages/{id}", { params: { path: { id: "msg_01HX0000000000000000000000" } } });
    expect(res.data).toBeUndefined();
    expect(res.response.status).toBe(401);
    expectTypeOf(res.error).toEqualTypeOf<ErrorEnvelope | undefined>();
    expect(res.error).toMatchObject({ statusCode: 401, message: expect.any(String), requestId: res.response.headers.get("x-request-id") });

    const bad = await createReachBellClient({ baseUrl }).POST("/auth/register", { body: { email: "not-an-email", password: "x", name: "", organizationName: "" } });
    expect(bad.response.status).toBe(422);
    expect(bad.error?.statusCode).toBe(422);
    expect(bad.error?.requestId).toMatch(/^req_/);
  });
});

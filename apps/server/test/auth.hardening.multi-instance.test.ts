import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { type Database, createTestDb, markSuiteRan, testDialects } from "@reachbell/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app";
import { type Config, testConfig } from "../src/env";
import { projectWithKey, subscription } from "./project-fixtures";
import { deleteKeys, describeWithRedis, TEST_REDIS_URL, uniquePrefix } from "./redis-support";
import { type TestServer, call, expectEnvelope, registerAccount } from "./support";

// Deleting an organization through one instance: every instance refuses its API keys on its next
// request, through the Redis invalidation bus. Two apps on one database and one Redis stand in for two
// instances (each has its own cache and its own bus connection); rate-limit.multi-instance.test.ts
// covers real processes for key revocation.

describeWithRedis("deleting an organization, two instances sharing Redis", () => {
  for (const d of testDialects()) {
    const suite = d.enabled ? describe : describe.skip;
    suite(`[${d.dialect}]${d.enabled ? "" : ` (skipped: ${d.reason})`}`, () => {
      const prefix = uniquePrefix("orgdel");
      const opened: { server: Server; app: App }[] = [];
      let database: Database;
      let a: TestServer;
      let b: TestServer;

      beforeAll(async () => {
        markSuiteRan("redis");
        database = await createTestDb(d.dialect);
        // The same secrets on both, as every instance of a deployment has.
        const shared: Partial<Config> = { jwtSecret: randomBytes(32), encryptionKey: randomBytes(32), redisUrl: TEST_REDIS_URL!, redisKeyPrefix: prefix };
        const start = async (): Promise<TestServer> => {
          const config = testConfig(shared);
          const app = createApp({ database, config });
          const { server, url } = await app.listen(0, "127.0.0.1");
          opened.push({ server, app });
          return { url, app, database, dialect: d.dialect, config, close: async () => {} };
        };
        a = await start();
        b = await start();
      });

      afterAll(async () => {
        for (const { server, app } of opened.splice(0)) {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
          await app.close();
        }
        await deleteKeys(TEST_REDIS_URL!, prefix);
        await database?.destroy();
      });

      it("keys cached by both instances are refused by the other one on its next request (read and write)", async () => {
        const owner = await registerAccount(a, "orgdel-multi");
        const one = await projectWithKey(a, owner);
        const two = await projectWithKey(a, owner, { environment: "sandbox" });
        const list = (s: TestServer, k: { apiKey: string; projectId: string }) => call(s, "GET", `/subscribers/project/${k.projectId}`, { apiKey: k.apiKey });
        for (const s of [a, b]) for (const k of [one, two]) expect((await list(s, k)).status).toBe(200); // cached on both, for 60 s
        const del = await call(a, "DELETE", `/organizations/${owner.orgId}`, { token: owner.token });
        expect(del.status).toBe(200);
        for (const s of [b, a]) {
          for (const k of [one, two]) {
            expectEnvelope(await list(s, k), 401, "Invalid API key");
            expectEnvelope(await call(s, "POST", "/subscribers", { apiKey: k.apiKey, body: subscription() }), 401, "Invalid API key");
          }
        }
      });
    });
  }
});

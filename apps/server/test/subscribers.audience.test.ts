import { randomBytes } from "node:crypto";
import { createDb, migrations, testDialects } from "@reachbell/db";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/env";
import { bundledGeoIpFile } from "../src/geoip";
import { projectWithKey, registerSub, subscription } from "./project-fixtures";
import { type Account, type TestServer, call, describeEachDb, expectEnvelope, registerAccount, startServer } from "./support";

// Audience data (SPEC §8): country and city from the client IP at registration (offline DB-IP
// database), overridable by the client; lastSeenAt moved by registration, identify and tag changes.
// Addresses checked against the bundled DB-IP City Lite file with maxmind: 8.8.8.8 → US, Mountain View;
// 2a00:1450:4001:80b::200e → DE, Frankfurt am Main.

const paths = (body: any) => (body.errors as { path: string }[]).map((e) => e.path);
const from = (ip: string) => ({ "x-forwarded-for": ip });

describeEachDb(
  "subscribers: country and city from geo-IP, or as given",
  (get) => {
    let apiKey: string;
    beforeAll(async () => {
      const owner = await registerAccount(get(), "geo");
      ({ apiKey } = await projectWithKey(get(), owner));
    });

    it("resolves country and city of a public IPv4 and IPv6 client address (the one TRUST_PROXY picks), and stores them", async () => {
      const v4 = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: subscription() });
      expect(v4.status, JSON.stringify(v4.body)).toBe(201);
      expect(v4.body).toMatchObject({ country: "US", city: "Mountain View" });
      const row = await get().database.db.selectFrom("subscribers").select(["country", "city"]).where("id", "=", v4.body.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ country: "US", city: "Mountain View" });
      const read = await call(get(), "GET", `/subscribers/${v4.body.id}`, { apiKey });
      expect(read.body).toMatchObject({ country: "US", city: "Mountain View" });

      const v6 = await call(get(), "POST", "/subscribers", { apiKey, headers: from("2a00:1450:4001:80b::200e"), body: subscription() });
      expect(v6.status).toBe(201);
      expect(v6.body).toMatchObject({ country: "DE", city: "Frankfurt am Main" });
    });

    it("loopback and private addresses resolve to nothing, without an error", async () => {
      const direct = await call(get(), "POST", "/subscribers", { apiKey, body: subscription() }); // 127.0.0.1
      expect(direct.status).toBe(201);
      expect(direct.body).toMatchObject({ country: null, city: null });
      for (const ip of ["127.0.0.1", "10.1.2.3", "192.168.0.7", "::1", "fd00::1", "::ffff:10.0.0.1"]) {
        const res = await call(get(), "POST", "/subscribers", { apiKey, headers: from(ip), body: subscription() });
        expect(res.status, ip).toBe(201);
        expect(res.body, ip).toMatchObject({ country: null, city: null });
      }
    });

    it("an explicit country and city win over the geo-IP guess; a country alone drops a city of another country", async () => {
      const both = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: { ...subscription(), country: "fr", city: " Paris " } });
      expect(both.status, JSON.stringify(both.body)).toBe(201);
      expect(both.body).toMatchObject({ country: "FR", city: "Paris" });

      const countryOnly = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: { ...subscription(), country: "GB" } });
      expect(countryOnly.body).toMatchObject({ country: "GB", city: null });
      const sameCountry = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: { ...subscription(), country: "us" } });
      expect(sameCountry.body).toMatchObject({ country: "US", city: "Mountain View" });
      const cityOnly = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: { ...subscription(), city: "Palo Alto" } });
      expect(cityOnly.body).toMatchObject({ country: "US", city: "Palo Alto" });
      const privateIp = await call(get(), "POST", "/subscribers", { apiKey, body: { ...subscription(), country: "DE", city: "Berlin" } });
      expect(privateIp.body).toMatchObject({ country: "DE", city: "Berlin" });
    });

    it("422 names country for anything but an ISO 3166-1 alpha-2 code, and city when too long or unstorable", async () => {
      for (const country of ["XX", "USA", "u", "12", "EU", "", 42]) {
        const env = expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body: { ...subscription(), country } }), 422, "Validation failed");
        expect(paths(env), JSON.stringify(country)).toEqual(["country"]);
      }
      for (const city of ["x".repeat(129), "nul\u0000city", ""]) {
        const env = expectEnvelope(await call(get(), "POST", "/subscribers", { apiKey, body: { ...subscription(), city } }), 422, "Validation failed");
        expect(paths(env)).toEqual(["city"]);
      }
      const ok = await call(get(), "POST", "/subscribers", { apiKey, body: { ...subscription(), city: "x".repeat(128) } });
      expect(ok.status).toBe(201);
    });
  },
  { trustProxy: 1, geoip: "bundled" },
);

describeEachDb(
  "subscribers: GEOIP_DB=off resolves nothing",
  (get) => {
    it("a public client address gets no country or city; explicit ones are still stored", async () => {
      const owner = await registerAccount(get(), "geooff");
      const { apiKey } = await projectWithKey(get(), owner);
      const res = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: subscription() });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ country: null, city: null });
      const given = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: { ...subscription(), country: "NL" } });
      expect(given.body).toMatchObject({ country: "NL", city: null });
    });
  },
  { trustProxy: 1, geoip: "off" },
);

describe("GEOIP_DB configuration", () => {
  const base = { NODE_ENV: "test", JWT_SECRET: randomBytes(32).toString("hex"), ENCRYPTION_KEY: randomBytes(32).toString("hex") };

  it("defaults to the bundled DB-IP files; off disables; a path selects one file", () => {
    expect(loadConfig(base).config.geoip).toBe("bundled");
    expect(loadConfig({ ...base, GEOIP_DB: "off" }).config.geoip).toBe("off");
    expect(loadConfig({ ...base, GEOIP_DB: "" }).config.geoip).toBe("bundled");
    const file = bundledGeoIpFile(4);
    expect(loadConfig({ ...base, GEOIP_DB: file }).config.geoip).toEqual({ path: file });
  });

  it("a missing file is a configuration error at start, with one clear message", () => {
    let error: unknown;
    try {
      loadConfig({ ...base, GEOIP_DB: "/nonexistent/geo.mmdb" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(["GEOIP_DB: no such file: /nonexistent/geo.mmdb (a .mmdb file, or off to disable geo-IP)"]);
  });
});

describeEachDb(
  "subscribers: GEOIP_DB with one file",
  (get) => {
    it("looks both families up in that one file; an address it cannot answer resolves to nothing, not an error", async () => {
      const owner = await registerAccount(get(), "geofile");
      const { apiKey } = await projectWithKey(get(), owner);
      const v4 = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: subscription() });
      expect(v4.body).toMatchObject({ country: "US", city: "Mountain View" });
      // An IPv4-only file cannot look up an IPv6 address: the registration still succeeds.
      const v6 = await call(get(), "POST", "/subscribers", { apiKey, headers: from("2a00:1450:4001:80b::200e"), body: subscription() });
      expect(v6.status).toBe(201);
      expect(v6.body).toMatchObject({ country: null, city: null });
    });
  },
  { trustProxy: 1, geoip: { path: bundledGeoIpFile(4) } },
);

describeEachDb(
  "subscribers: a geo-IP database that cannot be read",
  (get) => {
    it("never fails a registration: country and city stay empty", async () => {
      const owner = await registerAccount(get(), "geobad");
      const { apiKey } = await projectWithKey(get(), owner);
      for (let i = 0; i < 2; i++) {
        const res = await call(get(), "POST", "/subscribers", { apiKey, headers: from("8.8.8.8"), body: subscription() });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ country: null, city: null });
      }
    });
  },
  { trustProxy: 1, geoip: { path: bundledGeoIpFile(4).replace(/dbip-city-ipv4\.mmdb$/, "DBIP-LICENSE") } },
);

for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`subscribers: lastSeenAt [${d.dialect}]${d.enabled ? "" : ` (skipped: ${d.reason})`}`, () => {
    let server: TestServer;
    let owner: Account;
    let now = new Date("2026-03-01T10:00:00.000Z");
    beforeAll(async () => {
      server = await startServer(d.dialect, {}, () => now);
      owner = await registerAccount(server, "seen");
    });
    afterAll(async () => {
      await server.close();
    });

    it("is set at registration and moved by identify and by tag changes (token or externalId), also on reads afterwards", async () => {
      const { apiKey } = await projectWithKey(server, owner);
      const t0 = now.toISOString();
      const sub = await registerSub(server, apiKey);
      expect(sub).toMatchObject({ createdAt: t0, lastSeenAt: t0 });

      now = new Date(now.getTime() + 3_600_000);
      const t1 = now.toISOString();
      const identified = await call(server, "POST", "/subscribers/identify", { apiKey, body: { token: sub.token, externalId: "user-1" } });
      expect(identified.body).toMatchObject({ createdAt: t0, lastSeenAt: t1 });

      now = new Date(now.getTime() + 86_400_000);
      const t2 = now.toISOString();
      const tagged = await call(server, "POST", "/subscribers/tags", { apiKey, body: { token: sub.token, add: ["vip"] } });
      expect(tagged.body).toMatchObject({ lastSeenAt: t2 });

      now = new Date(now.getTime() + 60_000);
      const t3 = now.toISOString();
      const byUser = await call(server, "POST", "/subscribers/tags", { apiKey, body: { externalId: "user-1", remove: ["vip"] } });
      expect(byUser.body).toMatchObject({ lastSeenAt: t3 });

      now = new Date(now.getTime() + 60_000);
      const read = await call(server, "GET", `/subscribers/${sub.id}`, { apiKey });
      expect(read.body).toMatchObject({ createdAt: t0, lastSeenAt: t3 });
      const listed = await call(server, "GET", `/subscribers/project/${sub.projectId}`, { apiKey });
      expect(listed.body.data[0]).toMatchObject({ lastSeenAt: t3 });
    });

    it("re-registering an unsubscribed endpoint reactivates it and moves lastSeenAt", async () => {
      const { apiKey } = await projectWithKey(server, owner);
      const s = subscription();
      const first = await call(server, "POST", "/subscribers", { apiKey, body: s });
      await call(server, "DELETE", `/subscribers/${first.body.id}`, { apiKey });
      now = new Date(now.getTime() + 7 * 86_400_000);
      const again = await call(server, "POST", "/subscribers", { apiKey, body: s });
      expect(again.status, JSON.stringify(again.body)).toBe(201);
      expect(again.body).toMatchObject({ id: first.body.id, status: "active", lastSeenAt: now.toISOString() });
    });
  });
}

describe("migration 0006_audience", () => {
  it("backfills lastSeenAt from createdAt for subscribers registered before it (SQLite)", async () => {
    const database = createDb({ dialect: "sqlite", file: ":memory:" });
    try {
      const db = database.db as any;
      for (const m of migrations.slice(0, migrations.findIndex((m) => m.name === "0006_audience"))) await m.up(db, "sqlite");
      await sql`pragma foreign_keys = off`.execute(db);
      const createdAt = "2025-11-02T08:00:00.000Z";
      await sql`insert into subscribers (id, project_id, token, endpoint, p256dh, auth, status, created_at, updated_at)
        values ('sub_old', 'proj_x', 'tok_old', 'https://push.example/1', 'k', 'a', 'active', ${createdAt}, ${createdAt})`.execute(db);
      await migrations.find((m) => m.name === "0006_audience")!.up(db, "sqlite");
      const row = await sql<{ last_seen_at: string; city: string | null }>`select last_seen_at, city from subscribers where id = 'sub_old'`.execute(db);
      expect(row.rows[0]).toEqual({ lastSeenAt: createdAt, city: null });
    } finally {
      await database.destroy();
    }
  });
});

import { createHash } from "node:crypto";
import { expect, it, vi } from "vitest";
import { createKey, createProject, registerSub } from "./project-fixtures";
import { call, describeEachDb, registerAccount } from "./support";

const KEY_ID = /^key_[0-9A-Z]{26}$/;

describeEachDb("api keys: create, list, revoke, use", (get) => {
  it("creates a key (201) shown once: rb_live_ for live projects, rb_test_ for sandbox, ≥128 random bits URL-safe", async () => {
    const owner = await registerAccount(get(), "mint");
    const live = await createProject(get(), owner, { environment: "live" });
    const sandbox = await createProject(get(), owner, { environment: "sandbox" });
    const res = await call(get(), "POST", `/projects/${live.id}/api-keys`, { token: owner.token, orgId: owner.orgId, body: { name: "Production backend" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(KEY_ID),
      projectId: live.id,
      name: "Production backend",
      key: expect.stringMatching(/^rb_live_[A-Za-z0-9_-]+$/),
      scope: "full",
      prefix: "rb_live_",
      last4: res.body.key.slice(-4),
      display: `rb_live_…${res.body.key.slice(-4)}`,
      createdAt: expect.any(String),
      lastUsedAt: null,
      revokedAt: null,
    });
    // At least 128 bits of randomness after the prefix (base64url: 6 bits per character).
    expect((res.body.key.length - "rb_live_".length) * 6).toBeGreaterThanOrEqual(128);
    const test = await createKey(get(), owner, sandbox.id);
    expect(test.key).toMatch(/^rb_test_[A-Za-z0-9_-]{22,}$/);
    expect(test.prefix).toBe("rb_test_");
    const again = await createKey(get(), owner, live.id);
    expect(again.key).not.toBe(res.body.key);
  });

  it("stores only the SHA-256 of the key", async () => {
    const owner = await registerAccount(get(), "hash");
    const p = await createProject(get(), owner);
    const k = await createKey(get(), owner, p.id);
    const row = await get().database.db.selectFrom("apiKeys").selectAll().where("id", "=", k.id).executeTakeFirstOrThrow();
    expect(row.keyHash).toBe(createHash("sha256").update(k.key).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(k.key);
    expect(JSON.stringify(row)).not.toContain(k.key.slice("rb_live_".length, -4));
  });

  it("lists keys with prefix, last four and dates, never the key", async () => {
    const owner = await registerAccount(get(), "listkeys");
    const p = await createProject(get(), owner);
    const a = await createKey(get(), owner, p.id, "a");
    const b = await createKey(get(), owner, p.id, "b");
    const res = await call(get(), "GET", `/projects/${p.id}/api-keys`, { token: owner.token, orgId: owner.orgId });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.data.map((k: { id: string }) => k.id)).toEqual([a.id, b.id]);
    for (const k of res.body.data) {
      expect(Object.keys(k).sort()).toEqual(["createdAt", "display", "id", "last4", "lastUsedAt", "name", "prefix", "projectId", "revokedAt", "scope"]);
    }
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(a.key);
    expect(text).not.toContain(b.key);
    const page1 = await call(get(), "GET", `/projects/${p.id}/api-keys?limit=1`, { token: owner.token, orgId: owner.orgId });
    expect(page1.body.data).toHaveLength(1);
    const page2 = await call(get(), "GET", `/projects/${p.id}/api-keys?limit=1&cursor=${page1.body.nextCursor}`, { token: owner.token, orgId: owner.orgId });
    expect(page2.body.data[0].id).toBe(b.id);
    expect(page2.body.nextCursor).toBeNull();
  });

  it("several keys of one project work at once; revoking one fails it on the very next request, the other keeps working", async () => {
    const owner = await registerAccount(get(), "rotate");
    const p = await createProject(get(), owner);
    const oldKey = await createKey(get(), owner, p.id, "old");
    const newKey = await createKey(get(), owner, p.id, "new");
    const sub = await registerSub(get(), oldKey.key);
    for (const k of [oldKey, newKey]) expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: k.key })).status).toBe(200);

    const revoked = await call(get(), "DELETE", `/projects/${p.id}/api-keys/${oldKey.id}`, { token: owner.token, orgId: owner.orgId });
    expect(revoked.status).toBe(200);
    expect(revoked.body.id).toBe(oldKey.id);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));

    const next = await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: oldKey.key });
    expect(next.status).toBe(401);
    expect(next.body.message).toBe("Invalid API key");
    expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: newKey.key })).status).toBe(200);

    // The list shows it revoked; revoking again is idempotent and keeps the first date.
    const list = await call(get(), "GET", `/projects/${p.id}/api-keys`, { token: owner.token, orgId: owner.orgId });
    expect(list.body.data.find((k: { id: string }) => k.id === oldKey.id).revokedAt).toBe(revoked.body.revokedAt);
    const twice = await call(get(), "DELETE", `/projects/${p.id}/api-keys/${oldKey.id}`, { token: owner.token, orgId: owner.orgId });
    expect(twice.status).toBe(200);
    expect(twice.body.revokedAt).toBe(revoked.body.revokedAt);
  });

  it("lastUsedAt is collected in memory and written in one batch, not on every request", async () => {
    const owner = await registerAccount(get(), "usage");
    const p = await createProject(get(), owner);
    const k = await createKey(get(), owner, p.id);
    const row = () => get().database.db.selectFrom("apiKeys").select("lastUsedAt").where("id", "=", k.id).executeTakeFirstOrThrow();
    await get().app.deps.apiKeys.flushUsage();

    const updates = vi.spyOn(get().database.db, "updateTable");
    for (let i = 0; i < 5; i++) expect((await call(get(), "GET", `/subscribers/project/${p.id}`, { apiKey: k.key })).status).toBe(200);
    expect(updates.mock.calls.filter(([t]) => t === "apiKeys")).toHaveLength(0);
    expect((await row()).lastUsedAt).toBeNull();

    await get().app.deps.apiKeys.flushUsage();
    expect(updates.mock.calls.filter(([t]) => t === "apiKeys")).toHaveLength(1);
    updates.mockRestore();
    const used = (await row()).lastUsedAt;
    expect(used).toEqual(expect.any(String));
    expect(Math.abs(Date.parse(used!) - Date.now())).toBeLessThan(60_000);
    const listed = await call(get(), "GET", `/projects/${p.id}/api-keys`, { token: owner.token, orgId: owner.orgId });
    expect(listed.body.data[0].lastUsedAt).toBe(used);
  });

  it("verifying a known key costs no database query per request", async () => {
    const owner = await registerAccount(get(), "cache");
    const p = await createProject(get(), owner);
    const k = await createKey(get(), owner, p.id);
    const sub = await registerSub(get(), k.key); // first use: loads the key into the cache
    const selects = vi.spyOn(get().database.db, "selectFrom");
    for (let i = 0; i < 5; i++) expect((await call(get(), "GET", `/subscribers/${sub.id}`, { apiKey: k.key })).status).toBe(200);
    const keyLookups = selects.mock.calls.filter(([t]) => String(t).startsWith("apiKeys"));
    selects.mockRestore();
    expect(keyLookups).toHaveLength(0);
  });
});

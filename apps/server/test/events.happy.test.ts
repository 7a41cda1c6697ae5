import { expect, it } from "vitest";
import { ageLastSeen, lastSeenAt, messageRow, messageToSubscriber } from "./events-fixtures";
import { call, describeEachDb, registerAccount } from "./support";

describeEachDb("engagement events: accepted", (get) => {
  const report = (apiKey: string, body: Record<string, unknown>) => call(get(), "POST", "/events/notifications", { apiKey, body });

  it("displayed sets displayedAt once; a repeat is a duplicate and keeps the first timestamp", async () => {
    const owner = await registerAccount(get(), "ev");
    const { apiKey, sub, messageId } = await messageToSubscriber(get(), owner);
    expect(await messageRow(get(), messageId)).toMatchObject({ displayedAt: null, clickedAt: null });
    await ageLastSeen(get(), sub.id);

    const first = await report(apiKey, { messageId, token: sub.token, type: "displayed" });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accepted: true, duplicate: false });
    const row = await messageRow(get(), messageId);
    expect(row.displayedAt).toEqual(expect.any(String));
    expect(row.clickedAt).toBeNull();
    expect(await lastSeenAt(get(), sub.id)).not.toBe("2020-01-01T00:00:00.000Z");

    const again = await report(apiKey, { messageId, token: sub.token, type: "displayed" });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ accepted: true, duplicate: true });
    expect((await messageRow(get(), messageId)).displayedAt).toBe(row.displayedAt);
  });

  it("clicked sets clickedAt and implies displayed; with an action; a repeat is a duplicate", async () => {
    const owner = await registerAccount(get(), "evc");
    const { apiKey, sub, messageId } = await messageToSubscriber(get(), owner);
    const click = await report(apiKey, { messageId, token: sub.token, type: "clicked", action: "open-order" });
    expect(click.body).toEqual({ accepted: true, duplicate: false });
    const row = await messageRow(get(), messageId);
    expect(row.clickedAt).toEqual(expect.any(String));
    expect(row.displayedAt).toEqual(expect.any(String));

    // The display report arriving after the click changes nothing.
    const late = await report(apiKey, { messageId, token: sub.token, type: "displayed" });
    expect(late.body).toEqual({ accepted: true, duplicate: true });
    const again = await report(apiKey, { messageId, token: sub.token, type: "clicked" });
    expect(again.body).toEqual({ accepted: true, duplicate: true });
    expect(await messageRow(get(), messageId)).toEqual(row);
  });

  it("dismissed is accepted (not stored yet) and marks the subscriber seen", async () => {
    const owner = await registerAccount(get(), "evd");
    const { apiKey, sub, messageId } = await messageToSubscriber(get(), owner);
    await ageLastSeen(get(), sub.id);
    const res = await report(apiKey, { messageId, token: sub.token, type: "dismissed" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: true, duplicate: false });
    expect(await messageRow(get(), messageId)).toMatchObject({ displayedAt: null, clickedAt: null });
    expect(await lastSeenAt(get(), sub.id)).not.toBe("2020-01-01T00:00:00.000Z");
  });

  it("concurrent reports of the same display: exactly one is first", async () => {
    const owner = await registerAccount(get(), "evr");
    const { apiKey, sub, messageId } = await messageToSubscriber(get(), owner);
    const all = await Promise.all(Array.from({ length: 6 }, () => report(apiKey, { messageId, token: sub.token, type: "displayed" })));
    expect(all.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(all.filter((r) => r.body.duplicate === false)).toHaveLength(1);
  });

  it("is served over tRPC too, with the same answer", async () => {
    const owner = await registerAccount(get(), "evt");
    const { apiKey, sub, messageId } = await messageToSubscriber(get(), owner);
    const res = await fetch(`${get().url}/trpc/events.notifications`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": apiKey },
      body: JSON.stringify({ messageId, token: sub.token, type: "displayed" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).result.data).toEqual({ accepted: true, duplicate: false });
  });
});

describeEachDb("sdk config", (get) => {
  it("gives the key's project and its VAPID public key", async () => {
    const owner = await registerAccount(get(), "cfg");
    const { apiKey, projectId } = await messageToSubscriber(get(), owner);
    const project = await call(get(), "GET", `/projects/${projectId}`, { token: owner.token, orgId: owner.orgId });
    const res = await call(get(), "GET", "/sdk/config", { apiKey });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ projectId, vapidPublicKey: project.body.vapidPublicKey, sandbox: true });
  });
});

import { expect, it } from "vitest";
import { messageRow, messageToSubscriber } from "./events-fixtures";
import { registerSub } from "./project-fixtures";
import { call, describeEachDb, expectEnvelope, registerAccount } from "./support";

describeEachDb("engagement events: refused", (get) => {
  const report = (apiKey: string | undefined, body: Record<string, unknown>) => call(get(), "POST", "/events/notifications", { ...(apiKey ? { apiKey } : {}), body });

  it("404 MESSAGE_NOT_FOUND for another subscriber's message, an unknown message, or another project's, and nothing changes", async () => {
    const owner = await registerAccount(get(), "eve");
    const a = await messageToSubscriber(get(), owner);
    const other = await registerSub(get(), a.apiKey); // same project, another subscriber
    const b = await messageToSubscriber(get(), owner); // another project

    expectEnvelope(await report(a.apiKey, { messageId: a.messageId, token: other.token, type: "displayed" }), 404, "Message not found");
    expectEnvelope(await report(a.apiKey, { messageId: "msg_01HX0000000000000000000000", token: a.sub.token, type: "displayed" }), 404, "Message not found");
    // b's message and subscriber with a's key: not visible (404, never 403: no hint that it exists).
    expectEnvelope(await report(a.apiKey, { messageId: b.messageId, token: b.sub.token, type: "clicked" }), 404, "Message not found");
    // a's message with a's token but b's key.
    expectEnvelope(await report(b.apiKey, { messageId: a.messageId, token: a.sub.token, type: "clicked" }), 404, "Message not found");
    for (const id of [a.messageId, b.messageId]) expect(await messageRow(get(), id)).toMatchObject({ displayedAt: null, clickedAt: null });
  });

  it("401 without or with a bad API key; 403 with a dashboard token", async () => {
    const owner = await registerAccount(get(), "eva");
    const a = await messageToSubscriber(get(), owner);
    const body = { messageId: a.messageId, token: a.sub.token, type: "displayed" };
    expectEnvelope(await report(undefined, body), 401);
    expectEnvelope(await report("rb_live_" + "x".repeat(32), body), 401, "Invalid API key");
    const jwt = await call(get(), "POST", "/events/notifications", { token: owner.token, orgId: owner.orgId, body });
    expectEnvelope(jwt, 403, "This route takes an API key (x-api-key header)");
    expect(await messageRow(get(), a.messageId)).toMatchObject({ displayedAt: null });
  });

  it("422 names each invalid field", async () => {
    const owner = await registerAccount(get(), "evv");
    const a = await messageToSubscriber(get(), owner);
    const cases: [Record<string, unknown>, string][] = [
      [{ token: a.sub.token, type: "displayed" }, "messageId"],
      [{ messageId: a.messageId, type: "displayed" }, "token"],
      [{ messageId: a.messageId, token: a.sub.token, type: "opened" }, "type"],
      [{ messageId: a.messageId, token: a.sub.token }, "type"],
      [{ messageId: a.messageId, token: a.sub.token, type: "clicked", action: "has spaces" }, "action"],
    ];
    for (const [body, path] of cases) {
      const env = expectEnvelope(await report(a.apiKey, body), 422);
      expect((env.errors as { path: string }[]).map((e) => e.path)).toContain(path);
    }
    expect(await messageRow(get(), a.messageId)).toMatchObject({ displayedAt: null, clickedAt: null });
  });
});

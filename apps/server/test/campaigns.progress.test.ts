import { testDialects } from "@reachbell/db";
import { type PushServicePeer, startPushServicePeer } from "@reachbell/push/testing";
import { createTRPCClient, httpSubscriptionLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../src/routers";
import { progress } from "../src/services/campaigns";
import { createCampaign, insertMessages } from "./campaign-fixtures";
import { projectWithKey } from "./project-fixtures";
import { engineConfig, stopEngine } from "./campaigns-engine-support";
import { createProjectWithKey, registerSubscriber } from "./push-fixtures";
import { FetchEventSource } from "./sse-event-source";
import { type Account, type TestServer, call, describeEachDb, registerAccount, startServer } from "./support";

// The dashboard's live progress: `campaigns.progress` over SSE with @trpc/client's
// httpSubscriptionLink, against the real server. Message rows are written directly, as the engine
// would write them, and each change must reach the client (and nothing when nothing changed).

function client(server: TestServer, headers: Record<string, string>) {
  return createTRPCClient<AppRouter>({
    links: [httpSubscriptionLink({ url: `${server.url}/trpc`, EventSource: FetchEventSource as any, eventSourceOptions: { headers } as any })],
  });
}

interface Watch {
  values: any[];
  errors: any[];
  completed: boolean;
  stop(): void;
  /** Resolves once `n` values have arrived (or the subscription ended). */
  until(n: number, timeoutMs?: number): Promise<void>;
}

function watch(server: TestServer, headers: Record<string, string>, campaignId: string): Watch {
  const w: Watch = {
    values: [],
    errors: [],
    completed: false,
    stop: () => sub.unsubscribe(),
    async until(n, timeoutMs = 8000) {
      const end = Date.now() + timeoutMs;
      while (w.values.length < n && !w.completed && w.errors.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    },
  };
  const sub = client(server, headers).campaigns.progress.subscribe(
    { campaignId },
    {
      onData: (v) => w.values.push(v),
      onError: (e) => w.errors.push(e),
      onComplete: () => (w.completed = true),
    },
  );
  return w;
}

describeEachDb("campaigns: live progress (tRPC subscription over SSE)", (get) => {
  let owner: Account;
  let projectId: string;
  let apiKey: string;
  const jwt = () => ({ authorization: `Bearer ${owner.token}`, "x-org-id": owner.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "cmp-live");
    ({ projectId, apiKey } = await projectWithKey(get(), owner));
  });

  it("yields the campaign now, again on each change of stats or status, and ends when it is cancelled", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    const w = watch(get(), jwt(), c.id);
    await w.until(1);
    expect(w.errors).toEqual([]);
    expect(w.values[0]).toMatchObject({ id: c.id, status: "sending", stats: { audience: 0 } });
    // Nothing changes for two polls: nothing is sent.
    await new Promise((r) => setTimeout(r, 2200));
    expect(w.values).toHaveLength(1);

    await insertMessages(get(), c as any, [{ status: "delivered" }, { status: "queued" }, { status: "queued" }]);
    await w.until(2);
    expect(w.values[1].stats).toMatchObject({ audience: 3, delivered: 1, queued: 2, sent: 1 });

    expect((await call(get(), "POST", `/campaigns/${c.id}/cancel`, { apiKey, body: {} })).status).toBe(200);
    await w.until(3);
    expect(w.values[2]).toMatchObject({ status: "cancelled", stats: { audience: 3, skipped: 2, delivered: 1, queued: 0 } });
    const end = Date.now() + 3000;
    while (!w.completed && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    expect(w.completed).toBe(true);
    expect(w.values).toHaveLength(3);
  });

  it("an API key of the campaign's project may watch it; the first value equals GET /campaigns/{id}", async () => {
    const c = await createCampaign(get(), owner, projectId);
    const w = watch(get(), { "x-api-key": apiKey }, c.id);
    await w.until(1);
    w.stop();
    expect(w.errors).toEqual([]);
    expect(w.values[0]).toEqual((await call(get(), "GET", `/campaigns/${c.id}`, { apiKey })).body);
  });

  it("the same guard as every procedure: no credential 401, another organization 404", async () => {
    const c = await createCampaign(get(), owner, projectId);
    const anonymous = watch(get(), {}, c.id);
    await anonymous.until(1);
    expect(anonymous.values).toEqual([]);
    expect(anonymous.errors[0]?.data).toMatchObject({ httpStatus: 401, requestId: expect.stringMatching(/^req_/) });
    expect(anonymous.errors[0]?.message).toBe("Authentication required");
    anonymous.stop();

    const stranger = await registerAccount(get(), "cmp-live-stranger");
    const foreign = watch(get(), { authorization: `Bearer ${stranger.token}`, "x-org-id": stranger.orgId }, c.id);
    await foreign.until(1);
    expect(foreign.values).toEqual([]);
    expect(foreign.errors[0]?.data?.httpStatus).toBe(404);
    expect(foreign.errors[0]?.message).toBe("Campaign not found");
    foreign.stop();
  });

  it("the server stops polling as soon as the client goes away (the request's abort signal)", async () => {
    const c = await createCampaign(get(), owner, projectId, { schedule: { mode: "immediate" } });
    const abort = new AbortController();
    const it = progress(get().app.deps, { orgId: owner.orgId }, c.id, abort.signal);
    expect((await it.next()).value).toMatchObject({ id: c.id, status: "sending" });
    const pending = it.next();
    const started = Date.now();
    abort.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(500);
  });
});

// With the fan-out engine running: the progress a client watches ends on what the push service saw.
for (const d of testDialects()) {
  (d.enabled ? describe : describe.skip)(`campaigns: progress of a real fan-out [${d.dialect}]`, () => {
    let server: TestServer;
    let peer: PushServicePeer;
    let owner: Account;

    beforeAll(async () => {
      peer = await startPushServicePeer();
      server = await startServer(d.dialect, engineConfig());
      owner = await registerAccount(server, "cmp-live-engine");
      await server.app.deps.fanout.start();
    });
    afterAll(async () => {
      await stopEngine(server);
      await server.close();
      await peer.close();
    });

    it("stats equal what the push service received, the last value is `sent`, and the export has every recipient", async () => {
      const { projectId, apiKey } = await createProjectWithKey(server, owner, { timezone: "UTC" });
      const subs = Array.from({ length: 7 }, () => peer.createSubscriber());
      for (const sub of subs) await registerSubscriber(server, apiKey, sub);
      peer.script(subs[0]!.id, [{ status: 410 }]);
      const c = await createCampaign(server, owner, projectId, { segment: { filters: {} }, schedule: { mode: "draft" } });
      const w = watch(server, { "x-api-key": apiKey }, c.id);
      await w.until(1);
      expect((await call(server, "POST", `/campaigns/${c.id}/send`, { apiKey, body: {} })).status).toBe(200);
      const deadline = Date.now() + 20_000;
      while (!w.completed && w.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(w.errors).toEqual([]);
      expect(w.completed).toBe(true);
      const last = w.values[w.values.length - 1];
      expect(last.status).toBe("sent");
      const ids = new Set((await server.database.db.selectFrom("messages").select("id").where("campaignId", "=", c.id).execute()).map((m) => m.id));
      const received = peer.received.filter((r) => ids.has((r.payload as { messageId: string }).messageId));
      const delivered = received.filter((r) => r.answeredStatus === 201).length;
      expect(last.stats).toMatchObject({ audience: 7, sent: 7, delivered, expired: 1, failed: 0, queued: 0 });
      expect(delivered).toBe(6);
      expect(last).toEqual((await call(server, "GET", `/campaigns/${c.id}`, { apiKey })).body);
      const csv = await call(server, "GET", `/campaigns/${c.id}/export`, { apiKey });
      expect((csv.body as string).trim().split("\r\n")).toHaveLength(1 + 7);
    });
  });
}

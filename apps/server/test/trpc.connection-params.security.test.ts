import { createTRPCClient, httpSubscriptionLink } from "@trpc/client";
import { beforeAll, expect, it } from "vitest";
import type { AppRouter } from "../src/routers";
import { createCampaign } from "./campaign-fixtures";
import { projectWithKey } from "./project-fixtures";
import { FetchEventSource } from "./sse-event-source";
import { type Account, type TestServer, call, describeEachDb, registerAccount } from "./support";

// A browser's EventSource sends no headers, so the dashboard's subscriptions carry its credential as
// tRPC connectionParams (apps/server/src/http/connection-params.ts). Here the client sends no header
// at all, as EventSource would: the params alone must pass the same guard, and fail it the same way.

function watchOnce(server: TestServer, params: Record<string, string>, campaignId: string, headers: Record<string, string> = {}) {
  const client = createTRPCClient<AppRouter>({
    links: [httpSubscriptionLink({ url: `${server.url}/trpc`, connectionParams: params, EventSource: FetchEventSource as any, eventSourceOptions: { headers } as any })],
  });
  return new Promise<{ value?: any; error?: any }>((resolve) => {
    const sub = client.campaigns.progress.subscribe(
      { campaignId },
      {
        onData: (value) => {
          sub.unsubscribe();
          resolve({ value });
        },
        onError: (error) => {
          sub.unsubscribe();
          resolve({ error });
        },
      },
    );
  });
}

describeEachDb("tRPC subscriptions: the dashboard's credential as connectionParams", (get) => {
  let owner: Account;
  let campaignId: string;
  const bearer = (a: Account) => ({ authorization: `Bearer ${a.token}`, "x-org-id": a.orgId });

  beforeAll(async () => {
    owner = await registerAccount(get(), "conn-params");
    const { projectId } = await projectWithKey(get(), owner);
    campaignId = (await createCampaign(get(), owner, projectId)).id;
  });

  it("a subscription authenticated by connectionParams alone yields the campaign", async () => {
    const { value, error } = await watchOnce(get(), bearer(owner), campaignId);
    expect(error).toBeUndefined();
    expect(value).toEqual((await call(get(), "GET", `/campaigns/${campaignId}`, { token: owner.token, orgId: owner.orgId })).body);
  });

  it("fails the same guard the same way: a bad token 401, no organization 403, another organization 404", async () => {
    const forged = await watchOnce(get(), { ...bearer(owner), authorization: `Bearer ${owner.token.slice(0, -4)}AAAA` }, campaignId);
    expect(forged.error?.data).toMatchObject({ httpStatus: 401 });
    expect(forged.error?.message).toBe("Invalid or expired token");

    const noOrg = await watchOnce(get(), { authorization: `Bearer ${owner.token}` }, campaignId);
    expect(noOrg.error?.data).toMatchObject({ httpStatus: 403 });
    expect(noOrg.error?.message).toBe("Missing x-org-id header");

    const stranger = await registerAccount(get(), "conn-params-stranger");
    const foreign = await watchOnce(get(), bearer(stranger), campaignId);
    expect(foreign.error?.data).toMatchObject({ httpStatus: 404 });
  });

  it("a header actually sent wins over connectionParams", async () => {
    const stranger = await registerAccount(get(), "conn-params-header");
    const res = await watchOnce(get(), bearer(owner), campaignId, bearer(stranger));
    expect(res.error?.data).toMatchObject({ httpStatus: 404 });
  });

  it("queries and mutations ignore connectionParams (they can send headers)", async () => {
    const params = encodeURIComponent(JSON.stringify(bearer(owner)));
    const res = await fetch(`${get().url}/trpc/auth.me?connectionParams=${params}`);
    expect(res.status).toBe(401);
  });
});

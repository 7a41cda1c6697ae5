import type { PeerSubscriber } from "@reachbell/push/testing";
import { type Account, type TestServer, call } from "./support";

// Projects, keys and subscribers made through the API, for the delivery suites.

export interface ProjectWithKey {
  projectId: string;
  vapidPublicKey: string;
  apiKey: string;
}

export async function createProjectWithKey(
  server: TestServer,
  owner: Account,
  opts: { environment?: "live" | "sandbox"; timezone?: string; deliveryPolicy?: unknown } = {},
): Promise<ProjectWithKey> {
  const p = await call(server, "POST", "/projects", {
    token: owner.token,
    orgId: owner.orgId,
    body: { name: "Site", environment: opts.environment ?? "live", ...(opts.timezone ? { timezone: opts.timezone } : {}), ...(opts.deliveryPolicy ? { deliveryPolicy: opts.deliveryPolicy } : {}) },
  });
  if (p.status !== 201) throw new Error(`create project: ${p.status} ${JSON.stringify(p.body)}`);
  const k = await call(server, "POST", `/projects/${p.body.id}/api-keys`, { token: owner.token, orgId: owner.orgId, body: { name: "backend" } });
  if (k.status !== 201) throw new Error(`create key: ${k.status} ${JSON.stringify(k.body)}`);
  return { projectId: p.body.id, vapidPublicKey: p.body.vapidPublicKey, apiKey: k.body.key };
}

export async function registerSubscriber(server: TestServer, apiKey: string, sub: Pick<PeerSubscriber, "endpoint" | "p256dh" | "auth">, extra: Record<string, unknown> = {}) {
  const res = await call(server, "POST", "/subscribers", { apiKey, body: { endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth, ...extra } });
  if (res.status !== 201) throw new Error(`register subscriber: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; token: string; projectId: string; status: string };
}

export const sendPush = (server: TestServer, apiKey: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(server, "POST", "/transactional/send", { apiKey, body: { title: "Hello", body: "World", ...body }, headers });

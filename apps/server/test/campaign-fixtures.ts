import { newId, newSequentialId } from "@reachbell/db";
import type { MessageStatus } from "@reachbell/db";
import { randomBytes } from "node:crypto";
import { type Account, type TestServer, call } from "./support";

// Campaign bodies and message rows for the campaign suites. Message rows are written directly (as
// the fan-out engine would) so stats, results and exports can be checked against known rows.

/** A valid create body; `over` replaces top-level fields. */
export function campaignBody(projectId: string, over: Record<string, unknown> = {}) {
  return {
    projectId,
    name: "Winter sale",
    content: { title: "Sale", body: "Everything -20%", clickUrl: "https://shop.example/sale" },
    segment: { filters: { country: ["FR"] } },
    schedule: { mode: "draft" },
    ...over,
  };
}

/** Future instant as an ISO string with Z. */
export const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

export async function createCampaign(server: TestServer, acct: Account, projectId: string, over: Record<string, unknown> = {}) {
  const res = await call(server, "POST", "/campaigns", { token: acct.token, orgId: acct.orgId, body: campaignBody(projectId, over) });
  if (res.status !== 201) throw new Error(`create campaign: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; status: string; [k: string]: any };
}

export async function insertSubscriber(server: TestServer, projectId: string, extra: { externalId?: string | null } = {}) {
  const id = newId("sub");
  const now = new Date().toISOString();
  await server.database.db
    .insertInto("subscribers")
    .values({
      id,
      projectId,
      token: newId("tok"),
      endpoint: `https://push.example/${randomBytes(8).toString("hex")}`,
      p256dh: "x",
      auth: "x",
      userAgent: null,
      timezone: null,
      status: "active",
      externalId: extra.externalId ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .execute();
  return id;
}

export interface MessageSeed {
  status: MessageStatus;
  reason?: string | null;
  pushStatus?: number | null;
  displayed?: boolean;
  clicked?: boolean;
  subscriberId?: string | null;
}

/** Writes campaign message rows as the engine would; returns their ids, in insertion order, which is id order. */
export async function insertMessages(server: TestServer, campaign: { id: string; projectId: string }, seeds: MessageSeed[]): Promise<string[]> {
  const now = new Date().toISOString();
  const rows = seeds.map((s) => ({
    id: newSequentialId("msg"), // increasing: insertion order is id order
    projectId: campaign.projectId,
    subscriberId: s.subscriberId ?? null,
    kind: "campaign" as const,
    mode: "live" as const,
    payload: JSON.stringify({ title: "t", body: "b", messageId: "x" }),
    status: s.status,
    reason: s.reason ?? null,
    pushStatus: s.pushStatus ?? null,
    attempts: "[]",
    createdAt: now,
    completedAt: s.status === "queued" || s.status === "pending" ? null : now,
    durationMs: null,
    leaseExpiresAt: null,
    campaignId: campaign.id,
    notBefore: null,
    displayedAt: s.displayed ? now : null,
    clickedAt: s.clicked ? now : null,
  }));
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < rows.length; i += 500) await server.database.db.insertInto("messages").values(rows.slice(i, i + 500)).execute();
  return ids;
}

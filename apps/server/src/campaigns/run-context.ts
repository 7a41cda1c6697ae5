// What every slice of one campaign needs, read once per slice: the campaign's state, its project
// (keys, timezone, delivery policy) and the pushed content with UTM applied.

import type { CampaignContent, DeliveryPolicy } from "@reachbell/contract";
import type { CampaignStatus } from "@reachbell/db";
import type { Deps } from "../context";
import type { Project, PushOptions } from "../push/deliver";
import { parseDeliveryPolicy } from "../push/delivery-policy";
import { type CampaignPushContent, type Utm, pushContentOf } from "./content";

export interface CampaignRun {
  id: string;
  status: CampaignStatus;
  audienceDone: boolean;
  project: Project;
  policy: DeliveryPolicy;
  mode: "live" | "sandbox";
  content: CampaignPushContent;
  options: PushOptions;
}

export async function loadRun(deps: Pick<Deps, "database">, campaignId: string): Promise<CampaignRun | null> {
  const row = await deps.database.db
    .selectFrom("campaigns")
    .innerJoin("projects", "projects.id", "campaigns.projectId")
    .select([
      "campaigns.id",
      "campaigns.status",
      "campaigns.audienceDone",
      "campaigns.content",
      "campaigns.utm",
      "campaigns.ttl",
      "campaigns.urgency",
      "projects.id as projectId",
      "projects.environment",
      "projects.timezone",
      "projects.vapidPublicKey",
      "projects.vapidPrivateKeyEnc",
      "projects.deliveryPolicy",
    ])
    .where("campaigns.id", "=", campaignId)
    .executeTakeFirst();
  if (!row) return null;
  const utm = row.utm ? (JSON.parse(row.utm) as Utm) : null;
  return {
    id: row.id,
    status: row.status,
    audienceDone: Number(row.audienceDone) === 1,
    project: { id: row.projectId, environment: row.environment, timezone: row.timezone, vapidPublicKey: row.vapidPublicKey, vapidPrivateKeyEnc: row.vapidPrivateKeyEnc },
    policy: parseDeliveryPolicy(row.deliveryPolicy),
    mode: row.environment === "sandbox" ? "sandbox" : "live",
    content: pushContentOf(JSON.parse(row.content) as CampaignContent, utm),
    options: { ...(row.ttl !== null ? { ttl: row.ttl } : {}), ...(row.urgency ? { urgency: row.urgency } : {}) },
  };
}

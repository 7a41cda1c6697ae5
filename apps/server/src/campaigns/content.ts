// What a campaign's recipients receive: its content with the UTM parameters applied, as the same
// service-worker payload a transactional send builds (push/deliver.ts pushPayload), plus actions.

import type { CampaignContent } from "@reachbell/contract";
import { type PushContent, pushPayload } from "../push/deliver";

export interface Utm {
  source: string;
  medium: string;
  campaign: string;
}

/**
 * Appends utm_source/utm_medium/utm_campaign to a URL, keeping its existing query (and fragment)
 * intact; a parameter the URL already carries is replaced, never duplicated.
 */
export function withUtm(url: string, utm: Utm | null): string {
  if (!utm) return url;
  const u = new URL(url);
  u.searchParams.set("utm_source", utm.source);
  u.searchParams.set("utm_medium", utm.medium);
  u.searchParams.set("utm_campaign", utm.campaign);
  return u.toString();
}

export interface CampaignPushContent extends PushContent {
  actions?: { action: string; title: string; url?: string }[];
}

/** The content as pushed: UTM applied to the click URL and every action URL. */
export function pushContentOf(content: CampaignContent, utm: Utm | null): CampaignPushContent {
  const out: CampaignPushContent = {
    title: content.title,
    body: content.body,
    url: content.clickUrl !== undefined ? withUtm(content.clickUrl, utm) : null,
    iconUrl: content.iconUrl ?? null,
    imageUrl: content.imageUrl ?? null,
    badge: content.badge ?? null,
  };
  if (content.actions?.length) {
    out.actions = content.actions.map((a) => ({ action: a.action, title: a.title, ...(a.url !== undefined ? { url: withUtm(a.url, utm) } : {}) }));
  }
  return out;
}

/**
 * The largest payload the campaign can produce, in bytes: message ids have a fixed length and the
 * content is the same for every recipient, so one sample decides (checked at create and edit time).
 */
export function largestPayloadBytes(content: CampaignContent, utm: Utm | null): number {
  return Buffer.byteLength(pushPayload(pushContentOf(content, utm), "msg_00000000000000000000000000"));
}

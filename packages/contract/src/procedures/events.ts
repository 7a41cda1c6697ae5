import { z } from "zod";
import { defineProcedure } from "../define";
import { idOf, text } from "../schemas";

// Engagement events reported by the browser: the service worker (packages/sdk/src/sw.ts) tells the
// API when a push was displayed, clicked or dismissed. Called with the project's API key from the
// visitor's browser; the subscriber's token proves which subscription the message went to.

export const NOTIFICATION_EVENT_TYPES = ["displayed", "clicked", "dismissed"] as const;

export const notificationEvent = defineProcedure({
  operationId: "events.notifications",
  summary: "Report that a push was displayed, clicked or dismissed (idempotent per message × type)",
  description:
    "Sent by the service worker. The message must belong to the API key's project and have been sent to the subscriber with `token`; otherwise 404 and nothing changes. " +
    "The first report of each type wins: `displayed` sets the message's `displayedAt`, `clicked` sets `clickedAt` (and `displayedAt` when still unset); a repeat answers `duplicate: true`. " +
    "`dismissed` is accepted and not stored yet. Every accepted report marks the subscriber as seen (`lastSeenAt`).",
  tags: ["messages"],
  rest: { method: "POST", path: "/events/notifications" },
  auth: { accepts: ["apiKey"], publishable: {} },
  rateLimit: "ingest",
  input: z.object({
    messageId: idOf("msg_"),
    token: text().trim().min(1).max(64).meta({ description: "The subscriber's token (tok_…)" }),
    type: z.enum(NOTIFICATION_EVENT_TYPES),
    action: text().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ or -").optional().meta({ description: "With `clicked`: the action button clicked (absent for the notification body)" }),
  }),
  output: z.object({
    accepted: z.literal(true),
    duplicate: z.boolean().meta({ description: "True when this type was already recorded for the message (nothing changed)" }),
  }),
});

// GET /campaigns/{campaignId}/export: a campaign's per-recipient results as CSV, streamed.
//
// Served by Express rather than tRPC because tRPC buffers a response whole; the contract entry
// (`campaigns.export`, kind `download`) still declares its access rule, and the same `authenticate`
// guard enforces it. Memory stays constant: keyset pages of PAGE_ROWS rows, each written only once
// the socket has drained the previous one (backpressure), stopping if the client goes away.

import { once } from "node:events";
import { CAMPAIGN_EXPORT_COLUMNS, contract } from "@reachbell/contract";
import { TRPCError } from "@trpc/server";
import type express from "express";
import { authenticate } from "../auth/authenticate";
import { scopeOf } from "../auth/principal";
import type { Context } from "../context";
import { DomainError, errorForLog, toEnvelope } from "../errors";
import type { Logger } from "../logger";
import { findCampaign } from "../services/campaigns";
import { sendEnvelope } from "./envelope";

const def = contract.campaigns.export;
/** Rows per database page: big enough to amortise the query, small enough to keep memory flat. */
export const PAGE_ROWS = 1000;
/** Matched like trpc-to-openapi matches routes: one non-empty segment, case-insensitive. */
const ROUTE = /^\/campaigns\/([^/]+)\/export\/?$/i;

/** One CSV field (RFC 4180), with spreadsheet formula injection neutralised by a leading `'`. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  let s = String(value);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLine = (fields: (string | number | null)[]) => `${fields.map(csvField).join(",")}\r\n`;

/** Express middleware: answers the export route, passes every other request on. */
export function campaignExport(createContext: (req: express.Request, res: express.Response) => Context, logger: Logger) {
  return (req: express.Request, res: express.Response, next: express.NextFunction) => {
    const m = req.method === "GET" || req.method === "HEAD" ? ROUTE.exec(req.path) : null;
    if (!m) return next();
    serve(req, res, createContext(req, res), m[1]!, logger).catch(next);
  };
}

async function serve(req: express.Request, res: express.Response, ctx: Context, rawId: string, logger: Logger): Promise<void> {
  let campaign;
  try {
    let campaignId: string;
    try {
      campaignId = decodeURIComponent(rawId);
    } catch {
      throw new DomainError("BAD_REQUEST");
    }
    const raw = { campaignId };
    const auth = await authenticate(def.meta.auth, ctx, async () => raw);
    const parsed = def.input.safeParse(raw);
    if (!parsed.success) throw new TRPCError({ code: "BAD_REQUEST", cause: parsed.error });
    campaign = await findCampaign(ctx.deps, scopeOf(auth), parsed.data.campaignId);
  } catch (e) {
    const error = e instanceof TRPCError ? e : new TRPCError({ code: "INTERNAL_SERVER_ERROR", cause: e });
    const { envelope, internal, headers } = toEnvelope(error, req.requestId);
    if (internal) logger.error("request failed", { requestId: req.requestId, procedure: "campaigns.export", error: errorForLog(error) });
    sendEnvelope(res, envelope, { ...ctx.responseHeaders, ...headers });
    return;
  }

  res.statusCode = 200;
  res.setHeader("content-type", "text/csv; charset=utf-8");
  res.setHeader("content-disposition", `attachment; filename="${campaign.id}.csv"`);
  res.setHeader("cache-control", "no-store");
  if (req.method === "HEAD") return void res.end();

  const gone = () => res.destroyed || res.writableEnded;
  /** Writes, then waits for the socket to drain (or close) when its buffer is full. */
  const write = async (chunk: string) => {
    if (res.write(chunk)) return;
    await Promise.race([once(res, "drain"), once(res, "close")]);
  };

  const db = ctx.deps.database.db;
  try {
    await write(csvLine([...CAMPAIGN_EXPORT_COLUMNS]));
    let after: string | undefined;
    while (!gone()) {
      let q = db
        .selectFrom("messages")
        .leftJoin("subscribers", "subscribers.id", "messages.subscriberId")
        .select([
          "messages.id",
          "messages.subscriberId",
          "subscribers.externalId",
          "messages.status",
          "messages.reason",
          "messages.pushStatus",
          "messages.createdAt",
          "messages.completedAt",
          "messages.displayedAt",
          "messages.clickedAt",
        ])
        .where("messages.campaignId", "=", campaign.id);
      if (after !== undefined) q = q.where("messages.id", ">", after);
      const rows = await q.orderBy("messages.id", "asc").limit(PAGE_ROWS).execute();
      if (rows.length === 0) break;
      let chunk = "";
      for (const r of rows) {
        chunk += csvLine([r.id, r.subscriberId, r.externalId, r.status, r.reason, r.pushStatus, r.createdAt, r.completedAt, r.displayedAt, r.clickedAt]);
      }
      await write(chunk);
      if (rows.length < PAGE_ROWS) break;
      after = rows[rows.length - 1]!.id;
    }
    if (!gone()) res.end();
  } catch (e) {
    // The status line is sent: all that is left is to cut the response short, so it cannot pass for complete.
    logger.error("campaign export failed", { requestId: req.requestId, error: errorForLog(e) });
    res.destroy();
  }
}

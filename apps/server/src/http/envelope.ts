import type { IncomingMessage, ServerResponse } from "node:http";
import type { TRPCError } from "@trpc/server";
import type { Logger } from "../logger";
import { type Envelope, errorForLog, toEnvelope } from "../errors";

const ENVELOPE = Symbol("reachbell.envelope");
type WithEnvelope = IncomingMessage & { [ENVELOPE]?: { envelope: Envelope; headers: Record<string, string> } };

/** Sends the product's error envelope directly (for errors raised outside tRPC: body parsing, unknown routes). */
export function sendEnvelope(res: ServerResponse, envelope: Envelope, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.statusCode = envelope.statusCode;
  res.setHeader("content-type", "application/json; charset=utf-8");
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(JSON.stringify(envelope));
}

/** onError for both adapters: computes the envelope once, logs internal faults with their requestId. */
export function recordError(logger: Logger, req: IncomingMessage, error: TRPCError, path: string | undefined): void {
  const { envelope, internal, headers } = toEnvelope(error, req.requestId);
  (req as WithEnvelope)[ENVELOPE] = { envelope, headers };
  if (internal) logger.error("request failed", { requestId: req.requestId, procedure: path, error: errorForLog(error) });
}

/**
 * onError of the REST adapter: records the envelope and makes it the response (see envelopeResponses).
 * Done here, on errors only, so successful calls pay nothing for it.
 */
export function recordRestError(logger: Logger, req: IncomingMessage & { res?: ServerResponse }, error: TRPCError, path: string | undefined): void {
  recordError(logger, req, error, path);
  if (req.res) envelopeResponses(req, req.res);
}

/**
 * trpc-to-openapi writes its own error body (`{message, code, issues}`) and status. This wraps the
 * response so that, when an envelope was recorded for the request, the envelope and its status
 * are what is sent instead. Success responses pass through untouched.
 */
export function envelopeResponses(req: IncomingMessage, res: ServerResponse): void {
  const end = res.end.bind(res) as (...args: any[]) => ServerResponse;
  res.end = ((...args: any[]) => {
    const recorded = (req as WithEnvelope)[ENVELOPE];
    if (recorded && res.statusCode >= 400 && !res.headersSent) {
      res.statusCode = recorded.envelope.statusCode;
      for (const [k, v] of Object.entries(recorded.headers)) res.setHeader(k, v);
      res.setHeader("content-type", "application/json; charset=utf-8");
      return end(JSON.stringify(recorded.envelope));
    }
    return end(...args);
  }) as typeof res.end;
}

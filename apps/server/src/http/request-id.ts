import { newId } from "@reachbell/db";
import type { NextFunction, Request, Response } from "express";

declare module "http" {
  interface IncomingMessage {
    /** `req_…`, set first thing on every request and echoed as `x-request-id`. */
    requestId: string;
  }
}

export function requestId(req: Request, res: Response, next: NextFunction): void {
  req.requestId = newId("req");
  res.setHeader("x-request-id", req.requestId);
  next();
}

import { newSequentialId } from "@reachbell/db";

declare module "http" {
  interface IncomingMessage {
    /** `req_…`, set first thing on every request and echoed as `x-request-id`. */
    requestId: string;
  }
}

/** A fresh `req_…` id (unique, not secret: no randomness drawn per request). */
export function newRequestId(): string {
  return newSequentialId("req");
}

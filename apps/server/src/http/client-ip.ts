import type { Request } from "express";

const CLIENT_IP = Symbol("reachbell.clientIp");

/**
 * `req.ip` (the socket address, or the X-Forwarded-For hop TRUST_PROXY selects), computed once per
 * request: Express recomputes it (proxy-addr) on every read, and the limiter and the context both read it.
 */
export function clientIp(req: Request & { [CLIENT_IP]?: string | undefined }): string | undefined {
  if (!(CLIENT_IP in req)) req[CLIENT_IP] = req.ip ?? req.socket.remoteAddress;
  return req[CLIENT_IP];
}

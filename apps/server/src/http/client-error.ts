import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { newRequestId } from "./request-id";

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers over 16 KiB, a malformed
 * request line) get the product's envelope too, not Node's bare `431`/`400` without a body.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // The peer went away: nothing to answer.
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const message = status === 431 ? "Request headers too large" : status === 408 ? "Request timeout" : "Malformed request";
  const requestId = newRequestId();
  const body = JSON.stringify({ statusCode: status, message, requestId });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

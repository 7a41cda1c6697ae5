import { DOMAIN_ERRORS, type DomainErrorCode } from "@reachbell/contract";
import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from "./db-outage";

const STATUS_TO_TRPC: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  503: "SERVICE_UNAVAILABLE",
};

/** A domain error from the table in the contract; `extra` fields are added to the envelope (e.g. `subscriber` on 409). */
export class DomainError extends TRPCError {
  readonly status: number;
  readonly domainCode: DomainErrorCode;
  readonly extra: Record<string, unknown>;
  constructor(code: DomainErrorCode, opts: { message?: string; extra?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    const def = DOMAIN_ERRORS[code];
    super({ code: STATUS_TO_TRPC[def.status] ?? "INTERNAL_SERVER_ERROR", message: opts.message ?? def.message });
    this.status = def.status;
    this.domainCode = code;
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

export interface Envelope {
  statusCode: number;
  message: string;
  requestId: string;
  errors?: { path: string; message: string }[];
  [extra: string]: unknown;
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
}

function zodIssues(error: unknown): ZodLikeIssue[] | undefined {
  if (error instanceof Error && error.name === "ZodError" && Array.isArray((error as any).issues)) return (error as any).issues;
  return undefined;
}

const GENERIC_BY_CODE: Partial<Record<TRPC_ERROR_CODE_KEY, { status: number; message: string }>> = {
  PARSE_ERROR: DOMAIN_ERRORS.MALFORMED_JSON,
  PAYLOAD_TOO_LARGE: DOMAIN_ERRORS.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: DOMAIN_ERRORS.UNSUPPORTED_MEDIA_TYPE,
  NOT_FOUND: DOMAIN_ERRORS.ROUTE_NOT_FOUND,
  METHOD_NOT_SUPPORTED: { status: 405, message: "Method not allowed" },
  BAD_REQUEST: DOMAIN_ERRORS.BAD_REQUEST,
  TOO_MANY_REQUESTS: DOMAIN_ERRORS.RATE_LIMITED,
};

/**
 * The one place any error becomes a response: status, public message, extra fields, and whether
 * it is an internal fault (logged, message masked). Input validation (zod) becomes 422 with one
 * entry per failing field. The database being unreachable (or not answering in time) is no fault of
 * the request nor of the code: 503 with Retry-After, not logged per request (db-outage.ts logs the outage).
 */
export function describeError(error: TRPCError): { status: number; message: string; extra: Record<string, unknown>; internal: boolean; headers: Record<string, string> } {
  if (error instanceof DomainError) return { status: error.status, message: error.message, extra: error.extra, internal: false, headers: error.headers };
  const issues = error.code === "BAD_REQUEST" ? zodIssues(error.cause) : undefined;
  if (issues) {
    return {
      status: 422,
      message: DOMAIN_ERRORS.VALIDATION.message,
      extra: { errors: issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message })) },
      internal: false,
      headers: {},
    };
  }
  const generic = GENERIC_BY_CODE[error.code];
  if (generic) return { ...generic, extra: {}, internal: false, headers: {} };
  if (isDatabaseUnavailable(error.cause)) return { ...DOMAIN_ERRORS.SERVICE_UNAVAILABLE, extra: {}, internal: false, headers: { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) } };
  return { ...DOMAIN_ERRORS.INTERNAL, extra: {}, internal: true, headers: {} };
}

export function toEnvelope(error: TRPCError, requestId: string): { envelope: Envelope; internal: boolean; headers: Record<string, string> } {
  const d = describeError(error);
  return { envelope: { statusCode: d.status, message: d.message, requestId, ...d.extra }, internal: d.internal, headers: d.headers };
}

/** What of an internal error may be logged: its kind and message, never a stack or query text. */
export function errorForLog(error: unknown): Record<string, unknown> {
  const root = error instanceof TRPCError && error.cause ? error.cause : error;
  if (root instanceof Error) return { name: root.name, message: root.message.slice(0, 500), code: (root as any).code };
  return { name: typeof root };
}

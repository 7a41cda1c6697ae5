import type { PrincipalKind, ProtectedRule } from "./define";

/**
 * Every domain error the API can answer with: code → HTTP status → message. The server turns these
 * into the `{statusCode, message, requestId}` envelope; messages here are part of the contract.
 */
export const DOMAIN_ERRORS = {
  BAD_REQUEST: { status: 400, message: "Malformed request" },
  MALFORMED_JSON: { status: 400, message: "Malformed JSON body" },
  MALFORMED_CURSOR: { status: 400, message: "Malformed cursor: pass the nextCursor of a previous page" },
  INVALID_TOKEN: { status: 401, message: "Invalid or expired token" },
  INVALID_API_KEY: { status: 401, message: "Invalid API key" },
  API_KEY_IN_BEARER: { status: 401, message: "API keys go in the x-api-key header, not Authorization: Bearer" },
  NOT_AUTHENTICATED: { status: 401, message: "Authentication required" },
  INVALID_CREDENTIALS: { status: 401, message: "Invalid email or password" },
  MISSING_ORG_HEADER: { status: 403, message: "Missing x-org-id header" },
  MISSING_TENANT_HEADER: { status: 403, message: "Missing reach-tenant-id header" },
  WRONG_PROJECT: { status: 403, message: "Resource belongs to a different project" },
  /** Answered with `wrongCredentialMessage(rule)`, which names what the route takes; this is the fallback. */
  FORBIDDEN: { status: 403, message: "This credential cannot be used on this route" },
  PUBLISHABLE_KEY: {
    status: 403,
    message: "This API key is publishable: it can only register, identify, tag and unsubscribe subscribers and report notification events",
  },
  /** Answered with the field named: a publishable key addresses the subscription it holds by its token. */
  PUBLISHABLE_KEY_FIELD: { status: 403, message: "This API key is publishable: address the subscriber by its token" },
  /** Answered as "Origin <origin> is not allowed for this project". */
  ORIGIN_NOT_ALLOWED: { status: 403, message: "Origin not allowed for this project" },
  IDENTITY_TOKEN_REQUIRED: { status: 403, message: "This project verifies identities: identityToken is required (HMAC-SHA256 of externalId with the project's identity secret)" },
  IDENTITY_TOKEN_INVALID: { status: 403, message: "identityToken does not match externalId" },
  IDENTITY_SECRET_MISSING: { status: 409, message: "Create the project's identity secret first (POST /projects/{projectId}/identity-secret)" },
  INSUFFICIENT_ROLE: { status: 403, message: "Your role does not allow this action" },
  NOT_FOUND: { status: 404, message: "Not found" },
  ROUTE_NOT_FOUND: { status: 404, message: "Route not found" },
  ORGANIZATION_NOT_FOUND: { status: 404, message: "Organization not found" },
  MEMBER_NOT_FOUND: { status: 404, message: "Member not found" },
  PROJECT_NOT_FOUND: { status: 404, message: "Project not found" },
  TENANT_NOT_FOUND: { status: 404, message: "Tenant not found" },
  API_KEY_NOT_FOUND: { status: 404, message: "API key not found" },
  SUBSCRIBER_NOT_FOUND: { status: 404, message: "Subscriber not found" },
  USER_NOT_FOUND: { status: 404, message: "No user with that email" },
  EMAIL_TAKEN: { status: 409, message: "Email already registered" },
  ALREADY_MEMBER: { status: 409, message: "User is already a member of this organization" },
  LAST_OWNER: { status: 409, message: "An organization must keep at least one OWNER" },
  TENANT_EXISTS: { status: 409, message: "This partner already has a tenant with that externalId" },
  SUBSCRIBER_EXISTS: { status: 409, message: "A subscriber with this endpoint already exists in this project" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "Request body too large" },
  PUSH_PAYLOAD_TOO_LARGE: { status: 422, message: "Push payload exceeds the 4096-byte Web Push limit" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: "Idempotency-Key was already used with a different request body" },
  IDEMPOTENCY_KEY_IN_FLIGHT: { status: 409, message: "A request with this Idempotency-Key is still in progress" },
  MESSAGE_NOT_FOUND: { status: 404, message: "Message not found" },
  CAMPAIGN_NOT_FOUND: { status: 404, message: "Campaign not found" },
  CAMPAIGN_NOT_EDITABLE: { status: 409, message: "Only a draft or scheduled campaign can be edited or deleted" },
  CAMPAIGN_WRONG_STATUS: { status: 409, message: "The campaign's status does not allow this action" },
  SEGMENT_NOT_FOUND: { status: 404, message: "Segment not found" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Content-Type must be application/json" },
  VALIDATION: { status: 422, message: "Validation failed" },
  RATE_LIMITED: { status: 429, message: "Too many requests" },
  INTERNAL: { status: 500, message: "Internal server error" },
  SERVICE_UNAVAILABLE: { status: 503, message: "Service unavailable, retry later" },
} as const satisfies Record<string, { status: number; message: string }>;

export type DomainErrorCode = keyof typeof DOMAIN_ERRORS;

const CREDENTIAL_PHRASES: Record<PrincipalKind, string> = {
  apiKey: "an API key (x-api-key header)",
  user: "a dashboard JWT (Authorization: Bearer)",
  member: "a dashboard JWT (Authorization: Bearer) with x-org-id",
  tenant: "a tenant JWT",
  partnerTenant: "a partner JWT with reach-tenant-id",
  partner: "a partner JWT (Authorization: Bearer)",
};

/**
 * The 403 message for a credential the route does not take, naming the ones it does, e.g.
 * "This route takes an API key (x-api-key header)".
 */
export function wrongCredentialMessage(rule: ProtectedRule): string {
  const phrases = rule.accepts.map((kind) =>
    kind === "member" && rule.orgFrom === "input" ? "a dashboard JWT (Authorization: Bearer) of a member of the organization" : CREDENTIAL_PHRASES[kind],
  );
  const list = phrases.length <= 2 ? phrases.join(" or ") : `${phrases.slice(0, -1).join(", ")}, or ${phrases[phrases.length - 1]}`;
  return `This route takes ${list}`;
}

import { SignJWT } from "jose";
import { createPartner } from "../src/services/partners";
import { call, type TestServer } from "./support";

// Partners, tenants and their tokens, the way an integrator makes them: the partner is created with
// the operator's service (what the CLI calls), tokens are signed with jose using the secret string
// as the HS256 key, and tenants are created through POST /partner/tenants.

export interface TestPartner {
  partnerId: string;
  secret: string;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function newPartner(server: TestServer, name = "Partner"): Promise<TestPartner> {
  return createPartner({ database: server.database, secrets: server.app.deps.secrets, clock: () => new Date() }, name);
}

/** Signs `claims` with the partner secret (HS256). `iat` now and `exp` in 10 minutes unless given. */
export function signPartnerJwt(secret: string, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iat: nowSeconds(), exp: nowSeconds() + 600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", ...header })
    .sign(new TextEncoder().encode(secret));
}

/** A partner-scoped JWT: `partnerId`, `type: "partner"`, `iat`, `exp`. */
export function partnerJwt(p: TestPartner, over: Record<string, unknown> = {}): Promise<string> {
  return signPartnerJwt(p.secret, { partnerId: p.partnerId, type: "partner", ...over });
}

/** A tenant-scoped JWT for the tenant `tenantExternalId` of partner `p` (role defaults to ADMIN on the server). */
export function tenantJwt(p: TestPartner, tenantExternalId: string, over: Record<string, unknown> = {}): Promise<string> {
  return signPartnerJwt(p.secret, {
    partnerId: p.partnerId,
    tenantExternalId,
    externalId: "user-42",
    email: "jane@tenant.example",
    name: "Jane Tenant",
    ...over,
  });
}

export interface TestTenant {
  id: string;
  externalId: string;
  name: string;
}

/** Creates a tenant through `POST /partner/tenants` with the partner's token. */
export async function newTenant(server: TestServer, p: TestPartner, externalId: string, name = `Tenant ${externalId}`): Promise<TestTenant> {
  const res = await call(server, "POST", "/partner/tenants", { token: await partnerJwt(p), body: { externalId, name } });
  if (res.status !== 201) throw new Error(`create tenant: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, externalId, name };
}

let seq = 0;
/** A unique externalId, so suites sharing a database never collide. */
export const uniqueExternalId = (tag = "tenant") => `${tag}-${Date.now().toString(36)}-${++seq}`;

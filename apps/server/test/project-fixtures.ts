import { createECDH, randomBytes } from "node:crypto";
import { newId } from "@reachbell/db";
import { handJwt, nowS } from "./fixtures";
import { type Account, type TestServer, call } from "./support";

// Projects, API keys, subscriptions and partner/tenant principals for the projects, api-keys and
// subscribers suites. Everything goes through the API except creating a partner, which is an
// operator action (CLI): that one row is written directly.

export async function createProject(server: TestServer, acct: Account, body: Record<string, unknown> = {}) {
  const res = await call(server, "POST", "/projects", { token: acct.token, orgId: acct.orgId, body: { name: "Site", environment: "live", ...body } });
  if (res.status !== 201) throw new Error(`create project: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; environment: "live" | "sandbox"; vapidPublicKey: string; organizationId: string };
}

export async function createKey(server: TestServer, acct: Account, projectId: string, name = "backend") {
  const res = await call(server, "POST", `/projects/${projectId}/api-keys`, { token: acct.token, orgId: acct.orgId, body: { name } });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string; prefix: string; last4: string; display: string };
}

/** A project with one API key, in `acct`'s organization. */
export async function projectWithKey(server: TestServer, acct: Account, body: Record<string, unknown> = {}) {
  const project = await createProject(server, acct, body);
  const key = await createKey(server, acct, project.id);
  return { project, projectId: project.id, apiKey: key.key, keyId: key.id };
}

/** What a browser's PushSubscription.toJSON() gives: a fresh P-256 key and 16 random bytes. */
export function subscription(endpoint = `https://fcm.googleapis.com/fcm/send/${randomBytes(12).toString("base64url")}`) {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { endpoint, p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

export async function registerSub(server: TestServer, apiKey: string, extra: Record<string, unknown> = {}) {
  const res = await call(server, "POST", "/subscribers", { apiKey, body: { ...subscription(), ...extra } });
  if (res.status !== 201) throw new Error(`register subscriber: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; token: string; projectId: string; status: string; endpoint: string };
}

export const CHROME_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
export const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

export interface PartnerPrincipals {
  partnerId: string;
  tenantOrgId: string;
  tenantExternalId: string;
  /** Partner-scoped JWT: needs `reach-tenant-id` on organization routes. */
  partnerToken: string;
  /** Tenant-scoped JWT for `role` (ADMIN by default). */
  tenantToken(role?: string): string;
}

/** A partner (as the operator's CLI would create it) with one tenant organization. */
export async function partnerWithTenant(server: TestServer): Promise<PartnerPrincipals> {
  const db = server.database.db;
  const partnerId = newId("ptn");
  const secret = randomBytes(32).toString("base64url");
  const now = new Date().toISOString();
  await db.insertInto("partners").values({ id: partnerId, name: "Partner", createdAt: now }).execute();
  await db
    .insertInto("partnerSecrets")
    .values({ id: `${partnerId}_s1`, partnerId, secretEnc: server.app.deps.secrets.seal(secret, partnerId), createdAt: now, expiresAt: null })
    .execute();
  const tenantExternalId = `acme-${randomBytes(4).toString("hex")}`;
  const tenantOrgId = newId("org");
  await db.insertInto("organizations").values({ id: tenantOrgId, name: "Acme", plan: "FREE", partnerId, externalId: tenantExternalId, createdAt: now, updatedAt: now }).execute();
  const hs = { alg: "HS256", typ: "JWT" };
  return {
    partnerId,
    tenantOrgId,
    tenantExternalId,
    partnerToken: handJwt(hs, { partnerId, type: "partner", iat: nowS(), exp: nowS() + 600 }, secret),
    tenantToken: (role?: string) =>
      handJwt(
        hs,
        { partnerId, type: "tenant", tenantExternalId, externalId: "user-1", email: "u1@acme.test", name: "U One", iat: nowS(), exp: nowS() + 600, ...(role ? { role } : {}) },
        secret,
      ),
  };
}

import { createKey, createProject } from "./project-fixtures";
import { type Account, type TestServer, call } from "./support";

// A project with a full-scope (server) key and a publishable (page) key, for the publishable-key,
// allowed-origin and identity-verification suites.

export const SHOP = "https://shop.example";
export const EVIL = "https://evil.example";

export async function createPublishableKey(server: TestServer, acct: Account, projectId: string, name = "page") {
  const res = await call(server, "POST", `/projects/${projectId}/api-keys`, { token: acct.token, orgId: acct.orgId, body: { name, scope: "publishable" } });
  if (res.status !== 201) throw new Error(`create publishable key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string; scope: string; prefix: string };
}

export async function projectWithPublishableKey(server: TestServer, acct: Account, body: Record<string, unknown> = {}) {
  const project = await createProject(server, acct, { allowedOrigins: [SHOP], ...body });
  const full = await createKey(server, acct, project.id);
  const publishable = await createPublishableKey(server, acct, project.id);
  return { project, projectId: project.id, fullKey: full.key, publishableKey: publishable.key, publishableKeyId: publishable.id };
}

/** Request options for a call the page makes: its publishable key, from its origin. */
export const fromPage = (key: string, origin: string = SHOP, body?: unknown) => ({ apiKey: key, headers: { origin }, ...(body !== undefined ? { body } : {}) });

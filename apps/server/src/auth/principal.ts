import type { ApiKeyScope, Role } from "@reachbell/contract";

/** Who is calling, as established by `authenticate`. Handlers receive this, never raw credentials. */
export type Principal =
  | { kind: "anonymous" }
  | { kind: "user"; userId: string }
  | { kind: "member"; userId: string; orgId: string; role: Role }
  | { kind: "apiKey"; keyId: string; projectId: string; orgId: string; environment: "live" | "sandbox"; scope: ApiKeyScope }
  | { kind: "partner"; partnerId: string }
  | { kind: "tenant"; partnerId: string; orgId: string; role: Role; externalUserId: string; email: string; name: string }
  | { kind: "partnerTenant"; partnerId: string; orgId: string; role: Role };

export interface AuthState {
  principal: Principal;
  /** The organization the call acts in (org principals and API keys). */
  org?: { id: string; role: Role };
  /** Set for API keys: the one project the key may touch. */
  project?: { id: string; environment: "live" | "sandbox" };
}

/** The organization of an org-scoped call. The contract guarantees it exists; this only narrows the type. */
export function orgOf(auth: AuthState): { id: string; role: Role } {
  if (!auth.org) throw new Error("no organization context: the contract entry does not accept org principals");
  return auth.org;
}

export function userIdOf(auth: AuthState): string {
  const p = auth.principal;
  if (p.kind === "user" || p.kind === "member") return p.userId;
  throw new Error("no user principal");
}

export function partnerIdOf(auth: AuthState): string {
  const p = auth.principal;
  if (p.kind === "partner" || p.kind === "partnerTenant" || p.kind === "tenant") return p.partnerId;
  throw new Error("no partner principal");
}

/**
 * What data a call may see: always one organization, and for API keys one project. Queries filter
 * by this so anything outside it reads as "not found".
 */
export interface Scope {
  orgId: string;
  projectId?: string;
}

/** True for a call made with a publishable (browser) API key. */
export const isPublishableKey = (auth: AuthState): boolean => auth.principal.kind === "apiKey" && auth.principal.scope === "publishable";

export function scopeOf(auth: AuthState): Scope {
  const org = orgOf(auth);
  return auth.project ? { orgId: org.id, projectId: auth.project.id } : { orgId: org.id };
}

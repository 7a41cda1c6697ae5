import type { Role } from "@reachbell/contract";

/** Who is calling, as established by `authenticate`. Handlers receive this, never raw credentials. */
export type Principal =
  | { kind: "anonymous" }
  | { kind: "user"; userId: string }
  | { kind: "member"; userId: string; orgId: string; role: Role };

export interface AuthState {
  principal: Principal;
  /** The organization the call acts in, for org principals. */
  org?: { id: string; role: Role };
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

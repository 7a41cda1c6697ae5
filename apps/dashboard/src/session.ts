// The dashboard session: the JWT and the chosen organization, in memory and in sessionStorage.
// sessionStorage (not localStorage, not a cookie): it survives a reload of the tab but not the tab
// itself, is never sent automatically (no CSRF surface: the API reads only the Authorization header),
// and is not shared with other tabs. Any script on the page could read it, so the page loads none
// but its own bundle. Logging out or a 401 clears it.

const KEY = "reachbell.session";

export interface Session {
  token: string;
  orgId: string | null;
}

let current: Session | null = read();
const listeners = new Set<() => void>();

function read(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    const s = raw ? (JSON.parse(raw) as Partial<Session>) : null;
    return s && typeof s.token === "string" ? { token: s.token, orgId: typeof s.orgId === "string" ? s.orgId : null } : null;
  } catch {
    return null;
  }
}

function write(next: Session | null): void {
  current = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  for (const l of listeners) l();
}

export const session = {
  get: (): Session | null => current,
  signIn: (token: string, orgId: string | null) => write({ token, orgId }),
  setOrg: (orgId: string) => current && write({ ...current, orgId }),
  clear: () => write(null),
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

/** The headers every API call carries (tRPC links read them per request). */
export function authHeaders(): Record<string, string> {
  const s = current;
  if (!s) return {};
  return s.orgId ? { authorization: `Bearer ${s.token}`, "x-org-id": s.orgId } : { authorization: `Bearer ${s.token}` };
}

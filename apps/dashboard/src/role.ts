import { useQuery } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import { session } from "./session";
import { useTRPC } from "./trpc";

// What the signed-in user may do in the current organization, from auth.me (the server enforces it
// regardless; this only hides buttons a VIEWER could not use).

const RANK = { VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3 } as const;
export type Role = keyof typeof RANK;

export function useSession() {
  return useSyncExternalStore(session.subscribe, session.get);
}

export function useMe() {
  const trpc = useTRPC();
  const s = useSession();
  return useQuery({ ...trpc.auth.me.queryOptions(), enabled: s !== null });
}

export function useRole(): { role: Role | null; can: (min: Role) => boolean } {
  const me = useMe();
  const s = useSession();
  const role = (me.data?.organizations.find((o) => o.id === s?.orgId)?.role ?? null) as Role | null;
  return { role, can: (min) => role !== null && RANK[role] >= RANK[min] };
}

import type { AppRouter } from "@reachbell/server";
import { QueryCache, QueryClient, MutationCache } from "@tanstack/react-query";
import { TRPCClientError, createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { BASE, navigate } from "./navigation";
import { authHeaders, session } from "./session";

// The API's types come from the server's AppRouter (a type-only import: nothing of the server is
// bundled), so a renamed field or procedure breaks this package's typecheck.

export type Outputs = inferRouterOutputs<AppRouter>;
export type Inputs = inferRouterInputs<AppRouter>;
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

/** The API's error as the envelope gives it: message and requestId (never a stack). */
export function describeApiError(error: unknown): { message: string; requestId: string | null; status: number | null } {
  if (error instanceof TRPCClientError) {
    const data = error.data as { httpStatus?: number; requestId?: string | null } | undefined;
    return { message: error.message, requestId: data?.requestId ?? null, status: data?.httpStatus ?? null };
  }
  return { message: "Something went wrong talking to the server. Try again.", requestId: null, status: null };
}

/** A 401 anywhere: the session is over; log in again and come back to this page. */
function onApiError(error: unknown) {
  if (describeApiError(error).status === 401) sessionExpired();
}

export function sessionExpired(): void {
  if (!session.get()) return;
  session.clear();
  const here = location.pathname + location.search;
  navigate(`${BASE}/login?next=${encodeURIComponent(here)}`, { replace: true });
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: onApiError }),
    mutationCache: new MutationCache({ onError: onApiError }),
    defaultOptions: {
      queries: {
        // 4xx answers are final; retry only faults and network trouble, once.
        retry: (count, error) => {
          const s = describeApiError(error).status;
          return count < 1 && (s === null || s >= 500);
        },
        refetchOnWindowFocus: false,
      },
    },
  });
}

export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        // EventSource cannot send headers: the token travels as tRPC connectionParams, which the
        // server's createContext turns into the same Authorization/x-org-id headers the guard reads.
        true: httpSubscriptionLink({
          url: "/trpc",
          connectionParams: () => {
            const h = authHeaders();
            return { authorization: h.authorization ?? "", "x-org-id": h["x-org-id"] ?? "" };
          },
        }),
        false: httpBatchLink({ url: "/trpc", headers: authHeaders }),
      }),
    ],
  });
}

// Type-checked by `pnpm typecheck` (never run): what a dashboard in another repository writes, against
// the built dist/index.d.ts only. A line that stops compiling, or an @ts-expect-error that stops
// failing, fails the typecheck.
import { createTRPCClient, httpLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../dist/index.js";

const client = createTRPCClient<AppRouter>({
  links: [httpLink({ url: "http://localhost:3000/trpc", headers: { authorization: "Bearer <token>", "x-org-id": "org_…" } })],
});

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_: T = true as T) => undefined;

export async function callerTypes() {
  // An input whose fields are all optional may be left out.
  const me = await client.auth.me.query();
  const _email: string = me.email;
  const _role: "VIEWER" | "MEMBER" | "ADMIN" | "OWNER" | undefined = me.organizations[0]?.role;

  const projects = await client.projects.list.query({ limit: 5 });
  await client.projects.list.query();
  const _next: string | null = projects.nextCursor;
  const _name: string | undefined = projects.data[0]?.name;

  // @ts-expect-error limit is a number for tRPC callers (REST query strings are coerced on the server)
  await client.projects.list.query({ limit: "5" });
  // @ts-expect-error required fields stay required
  await client.auth.login.mutate({ email: "a@example.com" });
  // @ts-expect-error no such procedure
  await client.projects.nope.query();

  assertType<Equal<Exclude<inferRouterInputs<AppRouter>["projects"]["list"], void>, { limit?: number | undefined; cursor?: string | undefined }>>();
  assertType<Equal<inferRouterOutputs<AppRouter>["auth"]["me"]["email"], string>>();
}

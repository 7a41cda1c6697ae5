import type { AnyRouter } from "@trpc/server";
import { DomainError } from "../errors";

const PARAM = /\{(.+?)\}/g;

/**
 * trpc-to-openapi (3.3.0) hands path parameters to the procedure as they appear in the parsed URL,
 * still percent-encoded: `GET /partner/tenants/caf%C3%A9-1` looked up a tenant called `caf%C3%A9-1`.
 *
 * This returns the router to give trpc-to-openapi instead: the same router, whose `createCaller` (the
 * one way trpc-to-openapi calls a procedure, after it has routed the request) decodes each path
 * parameter of the procedure called, once. Decoding happens after routing and per parameter, so a
 * decoded `/` or `..` is part of the value and never changes the route. A parameter that is not
 * valid percent-encoding is a 400. Values without `%` (nearly all) are passed through untouched.
 */
export function decodingPathParams<R extends AnyRouter>(router: R): R {
  const paramsByProcedure = new Map<string, string[]>();
  for (const [path, procedure] of Object.entries(router._def.procedures as Record<string, { _def?: { meta?: any } }>)) {
    const restPath: unknown = procedure._def?.meta?.openapi?.path;
    if (typeof restPath !== "string") continue;
    const names = Array.from(restPath.matchAll(PARAM), (m) => m[1]!);
    if (names.length > 0) paramsByProcedure.set(path, names);
  }

  const createCaller = (ctx: unknown, opts?: unknown) => {
    const caller = (router.createCaller as (ctx: unknown, opts?: unknown) => any)(ctx, opts);
    // trpc-to-openapi walks the caller one segment at a time (`caller.partnerTenants.get`), then calls it.
    const at = (path: string[]): any =>
      new Proxy(() => undefined, {
        get: (_target, key) => (typeof key === "string" ? at([...path, key]) : undefined),
        apply: (_target, _this, args: unknown[]) => {
          const names = paramsByProcedure.get(path.join("."));
          const fn = path.reduce((node, key) => node[key], caller);
          return fn(names ? decodeParams(args[0], names) : args[0]);
        },
      });
    return at([]);
  };
  return { ...router, createCaller } as R;
}

function decodeParams(input: unknown, names: string[]): unknown {
  if (typeof input !== "object" || input === null) return input;
  let out = input as Record<string, unknown>;
  for (const name of names) {
    const value = out[name];
    if (typeof value !== "string" || !value.includes("%")) continue;
    if (out === input) out = { ...out };
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      throw new DomainError("BAD_REQUEST", { message: `Malformed percent-encoding in path parameter ${name}` });
    }
  }
  return out;
}

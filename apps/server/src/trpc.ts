import type { ProcedureDef, SubscriptionDef } from "@reachbell/contract";
import { initTRPC } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { z } from "zod";
import { authenticate } from "./auth/authenticate";
import type { AuthState } from "./auth/principal";
import { vanishedReferenceError } from "./auth/vanished-scope";
import type { Context } from "./context";
import { isForeignKeyViolation } from "./db-errors";
import { describeError } from "./errors";

/** tRPC meta: the OpenAPI block trpc-to-openapi reads, plus the contract entry it came from. */
export type Meta = OpenApiMeta & { contract?: ProcedureDef | SubscriptionDef };

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    // tRPC's own error shape, carrying the same message and requestId as the REST envelope.
    errorFormatter({ shape, error, ctx }) {
      const d = describeError(error);
      // Headers of the error (Retry-After of a 503) reach the response through responseMeta (app.ts).
      if (ctx) for (const [k, v] of Object.entries(d.headers)) ctx.responseHeaders[k] = v;
      return {
        message: d.message,
        code: shape.code,
        data: { code: shape.data.code, httpStatus: d.status, path: shape.data.path, requestId: ctx?.requestId ?? null, ...d.extra },
      };
    },
  });

export const router = t.router;

/**
 * The raw input, `{}` when absent: every contract input is an object and REST always passes one, so a
 * tRPC call without input (`client.auth.me.query()`, `GET /trpc/auth.me`) means the same, not a 422.
 */
function emptyObjectDefault(getRawInput: () => Promise<unknown>): () => Promise<unknown> {
  return async () => (await getRawInput()) ?? {};
}

/**
 * The single enforcement point for authentication and authorization. It reads `meta.contract.meta.auth`
 * and fails closed: a procedure without a contract entry cannot be called.
 */

const enforceAuth = t.middleware(async ({ meta, ctx, getRawInput, next }) => {
  const def = meta?.contract;
  if (!def) throw new Error("procedure has no contract metadata");
  const rawInput = emptyObjectDefault(getRawInput);
  const auth = await authenticate(def.meta.auth, ctx, rawInput);
  // One middleware for both jobs: every tRPC middleware level costs several object copies per call.
  // next()'s types offer `ctx` or `getRawInput`; its runtime (11.x callRecursive) applies both.
  const result = await next({ ctx: { auth }, getRawInput: rawInput } as { ctx: { auth: AuthState } });
  // A write whose project or organization was deleted under it: the 401/404 of the next request, not a 500.
  if (!result.ok && isForeignKeyViolation(result.error.cause)) throw await vanishedReferenceError(def.meta.auth, ctx, rawInput, result.error.cause);
  return result;
});

const base = t.procedure.use(enforceAuth);

/**
 * The input type tRPC callers see: an input whose fields are all optional may be omitted
 * (`client.auth.me.query()`), as `emptyObjectDefault` already allows at runtime. Types only.
 */
type CallerInput<I extends ProcedureDef["input"]> = Record<never, never> extends z.input<I> ? z.ZodType<z.output<I>, z.input<I> | undefined> : I;

/** Starts the implementation of one contract entry, with its meta, input and output exactly as declared. */
export function implement<D extends ProcedureDef>(def: D) {
  const { meta } = def;
  const protect = !("public" in meta.auth && meta.auth.public);
  return base
    .meta({
      contract: def,
      openapi: {
        method: meta.rest.method,
        path: meta.rest.path,
        protect,
        operationId: meta.operationId,
        summary: meta.summary,
        tags: [...meta.tags],
        successDescription: meta.successStatus === 201 ? "Created" : "OK",
      },
    })
    .input(def.input as CallerInput<D["input"]>)
    .output(def.output as D["output"]);
}

/**
 * Starts the implementation of one contract subscription (SSE on /trpc; no REST route, so no OpenAPI
 * block). The contract's `output` types each yielded item; tRPC's `.output()` would describe the
 * iterable as a whole, so it is not set here.
 */
export function implementSubscription<D extends SubscriptionDef>(def: D) {
  return base.meta({ contract: def }).input(def.input as D["input"]);
}

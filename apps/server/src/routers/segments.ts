import { contract } from "@reachbell/contract";
import { scopeOf } from "../auth/principal";
import * as segments from "../services/segments";
import { implement, router } from "../trpc";

const c = contract.segments;

// Declared in the contract's order: /segments/count before /segments/{segmentId} (first-declared-wins).
export const segmentsRouter = router({
  create: implement(c.create).mutation(({ ctx, input }) => segments.create(ctx.deps, scopeOf(ctx.auth), input)),
  list: implement(c.list).query(({ ctx, input }) => segments.list(ctx.deps, scopeOf(ctx.auth), input)),
  count: implement(c.count).mutation(({ ctx, input }) => segments.count(ctx.deps, scopeOf(ctx.auth), input)),
  get: implement(c.get).query(({ ctx, input }) => segments.get(ctx.deps, scopeOf(ctx.auth), input.segmentId)),
  update: implement(c.update).mutation(({ ctx, input }) => segments.update(ctx.deps, scopeOf(ctx.auth), input)),
  delete: implement(c.delete).mutation(({ ctx, input }) => segments.remove(ctx.deps, scopeOf(ctx.auth), input.segmentId)),
});

import { contract } from "@reachbell/contract";
import { isPublishableKey, scopeOf } from "../auth/principal";
import * as subscribers from "../services/subscribers";
import { implement, router } from "../trpc";

const c = contract.subscribers;

// Declared in the contract's order: static paths before /subscribers/{id} (first-declared-wins).
export const subscribersRouter = router({
  register: implement(c.register).mutation(({ ctx, input }) => subscribers.register(ctx.deps, scopeOf(ctx.auth), input, { ip: ctx.ip })),
  identify: implement(c.identify).mutation(({ ctx, input }) => subscribers.identify(ctx.deps, scopeOf(ctx.auth), input, { verifyIdentity: isPublishableKey(ctx.auth) })),
  tags: implement(c.tags).mutation(({ ctx, input }) => subscribers.tags(ctx.deps, scopeOf(ctx.auth), input)),
  unsubscribeByToken: implement(c.unsubscribeByToken).mutation(({ ctx, input }) => subscribers.unsubscribe(ctx.deps, scopeOf(ctx.auth), { token: input.token })),
  list: implement(c.list).query(({ ctx, input }) => subscribers.list(ctx.deps, scopeOf(ctx.auth), input)),
  get: implement(c.get).query(({ ctx, input }) => subscribers.get(ctx.deps, scopeOf(ctx.auth), input.id)),
  unsubscribe: implement(c.unsubscribe).mutation(({ ctx, input }) => subscribers.unsubscribe(ctx.deps, scopeOf(ctx.auth), { id: input.id })),
});

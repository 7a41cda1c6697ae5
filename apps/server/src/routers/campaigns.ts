import { contract } from "@reachbell/contract";
import { scopeOf } from "../auth/principal";
import * as campaigns from "../services/campaigns";
import { implement, implementSubscription, router } from "../trpc";

const c = contract.campaigns;

// Declared in the contract's order (static paths before /campaigns/{campaignId}). `export` is not
// here: it is a streamed download served by http/campaign-export.ts behind the same guard.
export const campaignsRouter = router({
  create: implement(c.create).mutation(({ ctx, input }) => campaigns.create(ctx.deps, scopeOf(ctx.auth), input)),
  list: implement(c.list).query(({ ctx, input }) => campaigns.list(ctx.deps, scopeOf(ctx.auth), input)),
  get: implement(c.get).query(({ ctx, input }) => campaigns.get(ctx.deps, scopeOf(ctx.auth), input.campaignId)),
  update: implement(c.update).mutation(({ ctx, input }) => campaigns.update(ctx.deps, scopeOf(ctx.auth), input)),
  delete: implement(c.delete).mutation(({ ctx, input }) => campaigns.remove(ctx.deps, scopeOf(ctx.auth), input.campaignId)),
  send: implement(c.send).mutation(({ ctx, input }) => campaigns.sendNow(ctx.deps, scopeOf(ctx.auth), input.campaignId)),
  pause: implement(c.pause).mutation(({ ctx, input }) => campaigns.pause(ctx.deps, scopeOf(ctx.auth), input.campaignId)),
  resume: implement(c.resume).mutation(({ ctx, input }) => campaigns.resume(ctx.deps, scopeOf(ctx.auth), input.campaignId)),
  cancel: implement(c.cancel).mutation(({ ctx, input }) => campaigns.cancel(ctx.deps, scopeOf(ctx.auth), input.campaignId)),
  messages: implement(c.messages).query(({ ctx, input }) => campaigns.messages(ctx.deps, scopeOf(ctx.auth), input)),
  progress: implementSubscription(c.progress).subscription(({ ctx, input, signal }) => campaigns.progress(ctx.deps, scopeOf(ctx.auth), input.campaignId, signal)),
});

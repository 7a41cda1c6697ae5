import { contract } from "@reachbell/contract";
import { scopeOf } from "../auth/principal";
import * as messages from "../services/messages";
import * as transactional from "../services/transactional";
import { implement, router } from "../trpc";

export const transactionalRouter = router({
  send: implement(contract.transactional.send).mutation(({ ctx, input }) => transactional.send(ctx, input)),
});

export const messagesRouter = router({
  get: implement(contract.messages.get).query(({ ctx, input }) => messages.get(ctx.deps, scopeOf(ctx.auth), input.id)),
});

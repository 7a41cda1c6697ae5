import { contract } from "@reachbell/contract";
import { orgOf } from "../auth/principal";
import * as members from "../services/members";
import { implement, router } from "../trpc";

const c = contract.members;

export const membersRouter = router({
  list: implement(c.list).query(({ ctx, input }) => members.list(ctx.deps, orgOf(ctx.auth).id, input)),
  add: implement(c.add).mutation(({ ctx, input }) => members.add(ctx.deps, orgOf(ctx.auth).id, input)),
  update: implement(c.update).mutation(({ ctx, input }) => members.changeRole(ctx.deps, orgOf(ctx.auth).id, input.memberId, input.role)),
  remove: implement(c.remove).mutation(({ ctx, input }) => members.remove(ctx.deps, orgOf(ctx.auth).id, input.memberId)),
});

import { contract } from "@reachbell/contract";
import { orgOf, userIdOf } from "../auth/principal";
import * as organizations from "../services/organizations";
import { implement, router } from "../trpc";

const c = contract.organizations;

export const organizationsRouter = router({
  list: implement(c.list).query(({ ctx, input }) => organizations.listMine(ctx.deps, userIdOf(ctx.auth), input)),
  create: implement(c.create).mutation(({ ctx, input }) => organizations.create(ctx.deps, userIdOf(ctx.auth), input)),
  get: implement(c.get).query(({ ctx }) => organizations.get(ctx.deps, orgOf(ctx.auth))),
  update: implement(c.update).mutation(({ ctx, input }) => organizations.rename(ctx.deps, orgOf(ctx.auth), input.name)),
  delete: implement(c.delete).mutation(({ ctx }) => organizations.remove(ctx.deps, orgOf(ctx.auth).id)),
});

import { contract } from "@reachbell/contract";
import { partnerIdOf } from "../auth/principal";
import * as tenants from "../services/tenants";
import { implement, router } from "../trpc";

const c = contract.partnerTenants;

export const partnerTenantsRouter = router({
  list: implement(c.list).query(({ ctx, input }) => tenants.list(ctx.deps, partnerIdOf(ctx.auth), input)),
  create: implement(c.create).mutation(({ ctx, input }) => tenants.create(ctx.deps, partnerIdOf(ctx.auth), input)),
  get: implement(c.get).query(({ ctx, input }) => tenants.get(ctx.deps, partnerIdOf(ctx.auth), input.idOrExternalId)),
  update: implement(c.update).mutation(({ ctx, input }) => tenants.update(ctx.deps, partnerIdOf(ctx.auth), input.idOrExternalId, input)),
});

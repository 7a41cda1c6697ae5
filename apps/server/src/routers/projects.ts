import { contract } from "@reachbell/contract";
import { orgOf } from "../auth/principal";
import * as apiKeys from "../services/api-keys";
import * as projects from "../services/projects";
import { implement, router } from "../trpc";

const p = contract.projects;
const k = contract.apiKeys;

export const projectsRouter = router({
  list: implement(p.list).query(({ ctx, input }) => projects.list(ctx.deps, orgOf(ctx.auth).id, input)),
  create: implement(p.create).mutation(({ ctx, input }) => projects.create(ctx.deps, orgOf(ctx.auth).id, input)),
  get: implement(p.get).query(({ ctx, input }) => projects.get(ctx.deps, orgOf(ctx.auth).id, input.projectId)),
  update: implement(p.update).mutation(({ ctx, input }) => projects.update(ctx.deps, orgOf(ctx.auth).id, input)),
  delete: implement(p.delete).mutation(({ ctx, input }) => projects.remove(ctx.deps, orgOf(ctx.auth).id, input.projectId)),
  rotateIdentitySecret: implement(p.rotateIdentitySecret).mutation(({ ctx, input }) => projects.rotateIdentitySecret(ctx.deps, orgOf(ctx.auth).id, input.projectId)),
});

export const apiKeysRouter = router({
  list: implement(k.list).query(({ ctx, input }) => apiKeys.list(ctx.deps, orgOf(ctx.auth).id, input)),
  create: implement(k.create).mutation(({ ctx, input }) => apiKeys.create(ctx.deps, orgOf(ctx.auth).id, input)),
  revoke: implement(k.revoke).mutation(({ ctx, input }) => apiKeys.revoke(ctx.deps, orgOf(ctx.auth).id, input)),
});

import { contract } from "@reachbell/contract";
import { userIdOf } from "../auth/principal";
import * as users from "../services/users";
import { implement, router } from "../trpc";

const c = contract.auth;

export const authRouter = router({
  register: implement(c.register).mutation(({ ctx, input }) => users.register(ctx.deps, input)),
  login: implement(c.login).mutation(({ ctx, input }) => users.login(ctx.deps, input)),
  me: implement(c.me).query(({ ctx }) => users.userProfile(ctx.deps, userIdOf(ctx.auth))),
});

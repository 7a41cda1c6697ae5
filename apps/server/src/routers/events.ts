import { contract } from "@reachbell/contract";
import { scopeOf } from "../auth/principal";
import * as events from "../services/events";
import { implement, router } from "../trpc";

export const eventsRouter = router({
  notifications: implement(contract.events.notifications).mutation(({ ctx, input }) => events.recordNotificationEvent(ctx.deps, scopeOf(ctx.auth), input)),
});

export const sdkRouter = router({
  config: implement(contract.sdk.config).query(({ ctx }) => events.sdkConfig(ctx.deps, scopeOf(ctx.auth))),
});

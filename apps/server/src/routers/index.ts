import { router } from "../trpc";
import { authRouter } from "./auth";
import { membersRouter } from "./members";
import { organizationsRouter } from "./organizations";

/** Mirrors the contract's structure one to one (checked by test/contract-conformance.test.ts). */
export const appRouter = router({
  auth: authRouter,
  organizations: organizationsRouter,
  members: membersRouter,
});

export type AppRouter = typeof appRouter;

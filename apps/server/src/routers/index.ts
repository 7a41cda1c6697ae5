import { router } from "../trpc";
import { authRouter } from "./auth";
import { membersRouter } from "./members";
import { organizationsRouter } from "./organizations";
import { partnerTenantsRouter } from "./partner-tenants";
import { messagesRouter, transactionalRouter } from "./transactional";
import { apiKeysRouter, projectsRouter } from "./projects";
import { subscribersRouter } from "./subscribers";
import { segmentsRouter } from "./segments";
import { campaignsRouter } from "./campaigns";
import { eventsRouter, sdkRouter } from "./events";

/** Mirrors the contract's structure one to one (checked by test/contract-conformance.test.ts). */
export const appRouter = router({
  auth: authRouter,
  organizations: organizationsRouter,
  members: membersRouter,
  transactional: transactionalRouter,
  messages: messagesRouter,
  events: eventsRouter,
  sdk: sdkRouter,
  projects: projectsRouter,
  apiKeys: apiKeysRouter,
  subscribers: subscribersRouter,
  segments: segmentsRouter,
  campaigns: campaignsRouter,
  partnerTenants: partnerTenantsRouter,
});

export type AppRouter = typeof appRouter;

import { z } from "zod";
import { defineProcedure } from "../define";

// What the browser SDK needs before it can subscribe: the project's VAPID public key
// (PushManager.subscribe's applicationServerKey). Read with the API key the page carries.

export const config = defineProcedure({
  operationId: "sdk.config",
  summary: "The browser SDK's configuration for the API key's project (VAPID public key)",
  tags: ["subscribers"],
  rest: { method: "GET", path: "/sdk/config" },
  auth: { accepts: ["apiKey"], publishable: {} },
  rateLimit: "ingest",
  input: z.object({}),
  output: z.object({
    projectId: z.string(),
    vapidPublicKey: z.string().meta({ description: "base64url of the 65-byte uncompressed P-256 point: PushManager.subscribe's applicationServerKey" }),
    sandbox: z.boolean().meta({ description: "True for a sandbox project (rb_test_ key): pushes are simulated, never sent" }),
  }),
});

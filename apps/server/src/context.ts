import type { IncomingHttpHeaders } from "node:http";
import type { PasswordHasher, HmacKey, SecretBox } from "@reachbell/auth";
import type { Database } from "@reachbell/db";
import type { ApiKeyVerifier } from "./auth/api-key-verifier";
import type { InvalidationBus } from "./auth/invalidation-bus";
import type { PushSender } from "@reachbell/push";
import type { Config } from "./env";
import type { VapidSigners } from "./push/vapid-signers";
import type { Logger } from "./logger";
import type { Fanout } from "./campaigns/fanout";

/** Everything a handler may use, built once by createApp. */
export interface Deps {
  database: Database;
  config: Config;
  logger: Logger;
  clock: () => Date;
  hasher: PasswordHasher;
  jwtKey: HmacKey;
  secrets: SecretBox;
  apiKeys: ApiKeyVerifier;
  /** Web Push: one sender (keep-alive pools per origin) and the projects' VAPID signers. */
  push: { sender: PushSender; vapid: VapidSigners };
  bus: InvalidationBus;
  /** Campaign fan-out: the lifecycle tells it about state changes (campaigns/engine.ts). */
  fanout: Fanout;
}

/** Per-request context, the same for tRPC and REST. */
export interface Context {
  deps: Deps;
  requestId: string;
  headers: IncomingHttpHeaders;
  ip: string;
  /** Response headers a handler wants set (e.g. Idempotent-Replayed). */
  responseHeaders: Record<string, string>;
}

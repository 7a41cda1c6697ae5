// The seam between the campaign lifecycle (services/campaigns.ts: state changes requested over the
// API) and the fan-out engine (campaigns/engine.ts: batching, the queue, pacing, recovery).

import type { DB } from "@reachbell/db";
import type { Transaction } from "kysely";

export interface Fanout {
  /**
   * Called inside the transaction that moved a campaign to `sending` (start or resume), after the
   * row is updated: on PostgreSQL the queue's job is written in that same transaction, so the job
   * exists exactly when the state change commits.
   */
  begin(trx: Transaction<DB>, campaignId: string): Promise<void>;
  /** After a commit that changed a campaign's status (pause, cancel, resume, start): wake or stop local work now. */
  changed(campaignId: string): void;
  /** Starts this instance's workers, scheduler and recovery (no-op when this process only serves the API). */
  start(): Promise<void>;
  /** Stops taking work and waits for what is in flight (bounded). */
  stop(): Promise<void>;
}

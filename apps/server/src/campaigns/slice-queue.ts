// Where slices come from: pg-boss on PostgreSQL (jobs in the campaign's database, so any instance can
// take the next slice and an enqueue commits with the state change), an in-process round robin on
// SQLite (one process owns the file). The engine only sees this interface, so a queue upgrade (e.g.
// pg-boss 11 once Node 22 is the baseline) stays inside one module.

import type { DB } from "@reachbell/db";
import type { Transaction } from "kysely";
import type { SliceResult } from "./slice";

export type SliceRunner = (campaignId: string) => Promise<SliceResult>;

export interface SliceQueue {
  /**
   * Makes sure the campaign has its chains of slices queued (idempotent: a chain already queued is
   * not doubled). With `trx`, the jobs commit with it (PostgreSQL); without, they are queued now.
   */
  enqueue(campaignId: string, trx?: Transaction<DB>): Promise<void>;
  /** Whether enqueue() can be called (the queue's tables exist and it is open). */
  ready(): boolean;
  /** Opens the queue; with `runner`, this instance also takes slices. */
  start(runner: SliceRunner | null): Promise<void>;
  /** Stops taking slices and waits (bounded) for running ones. */
  stop(): Promise<void>;
}

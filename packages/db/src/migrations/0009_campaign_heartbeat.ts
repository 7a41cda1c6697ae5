import type { Kysely } from "kysely";
import { type Dialect, timestampType } from "./util";

/**
 * The fan-out's liveness mark: every slice of a sending campaign stamps `fanout_heartbeat_at`. A
 * sending campaign whose mark is older than the stall bound has lost its queue job (an instance died
 * holding it, or the job was lost): the supervisor re-enqueues it, claiming the right to with a
 * conditional update of this column so only one instance does.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable("campaigns").addColumn("fanout_heartbeat_at", timestampType(dialect)).execute();
}

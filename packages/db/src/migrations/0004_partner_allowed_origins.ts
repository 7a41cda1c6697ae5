import type { Kysely } from "kysely";
import type { Dialect } from "./util";

/** Per-partner browser origins (CORS) for calls made with that partner's tenant tokens: JSON text of an array, null = none. */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("partners").addColumn("allowed_origins", "text").execute();
}

import type { Kysely } from "kysely";
import * as m0001 from "./0001_users_organizations";
import * as m0002 from "./0002_projects_keys_subscribers_partners";
import * as m0003 from "./0003_messages_idempotency";
import * as m0004 from "./0004_partner_allowed_origins";
import * as m0005 from "./0005_in_flight_leases";
import * as m0006 from "./0006_audience";
import * as m0007 from "./0007_segments";
import * as m0008 from "./0008_campaigns";
import * as m0009 from "./0009_campaign_heartbeat";
import * as m0010 from "./0010_publishable_keys";
import * as m0011 from "./0011_audience_covering_index";
import type { Dialect } from "./util";

export interface Migration {
  name: string;
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

/** Every migration, in order. A list in code (not a folder scan) so bundling cannot lose one. */
export const migrations: Migration[] = [
  { name: "0001_users_organizations", up: m0001.up },
  { name: "0002_projects_keys_subscribers_partners", up: m0002.up },
  { name: "0003_messages_idempotency", up: m0003.up },
  { name: "0004_partner_allowed_origins", up: m0004.up },
  { name: "0005_in_flight_leases", up: m0005.up },
  { name: "0006_audience", up: m0006.up },
  { name: "0007_segments", up: m0007.up },
  { name: "0008_campaigns", up: m0008.up },
  { name: "0009_campaign_heartbeat", up: m0009.up },
  { name: "0010_publishable_keys", up: m0010.up },
  { name: "0011_audience_covering_index", up: m0011.up },
];

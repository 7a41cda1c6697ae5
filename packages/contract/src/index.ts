import * as auth from "./procedures/auth";
import * as members from "./procedures/members";
import * as organizations from "./procedures/organizations";
import type { ProcedureDef } from "./define";

export * from "./define";
export * from "./errors";
export * from "./schemas";

/** Every procedure of the API, declared once. The server implements exactly these. */
export const contract = {
  auth: { register: auth.register, login: auth.login, me: auth.me },
  organizations: {
    list: organizations.list,
    create: organizations.create,
    get: organizations.get,
    update: organizations.update,
    delete: organizations.remove,
  },
  members: { list: members.list, add: members.add, update: members.update, remove: members.remove },
} as const;

export type Contract = typeof contract;

/** Flattens the contract into `[path, def]` pairs, e.g. `["organizations.get", def]`. */
export function contractEntries(): [string, ProcedureDef][] {
  const out: [string, ProcedureDef][] = [];
  for (const [ns, procs] of Object.entries(contract)) {
    for (const [name, def] of Object.entries(procs)) out.push([`${ns}.${name}`, def as ProcedureDef]);
  }
  return out;
}

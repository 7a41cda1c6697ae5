import { createHmac } from "node:crypto";
import type { Role } from "@reachbell/contract";
import { createTRPCClient, httpBatchLink, httpLink } from "@trpc/client";
import type { AppRouter } from "../src/routers";
import { type Account, type TestServer, call, registerAccount } from "./support";

// Helpers shared by the foundation suites (support.ts holds the server and HTTP plumbing).

export const b64url = (v: string | Buffer | object): string =>
  Buffer.from(typeof v === "string" || Buffer.isBuffer(v) ? v : JSON.stringify(v)).toString("base64url");

/**
 * Builds a JWT by hand, so tests control every byte: header, claims and signature. `alg` HS256/384/512
 * are HMAC-signed with `secret`; any other alg (e.g. "none") gets the given `signature` (default empty).
 */
export function handJwt(header: Record<string, unknown>, claims: Record<string, unknown>, secret?: Uint8Array | string, signature = ""): string {
  const signingInput = `${b64url(header)}.${b64url(claims)}`;
  const alg = String(header.alg);
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
  if (hash && secret !== undefined) {
    return `${signingInput}.${createHmac(hash, typeof secret === "string" ? Buffer.from(secret) : secret).update(signingInput).digest("base64url")}`;
  }
  return `${signingInput}.${signature}`;
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

/** A dashboard-token claim set for `userId`, valid for an hour unless overridden. */
export const userClaims = (userId: string, over: Record<string, unknown> = {}) => ({ sub: userId, type: "user", iat: nowS(), exp: nowS() + 3600, ...over });

/** Decodes a JWT's parts without verifying (tests only read what the server issued). */
export function decodeJwt(token: string): { header: any; claims: any } {
  const [h, c] = token.split(".");
  return { header: JSON.parse(Buffer.from(h!, "base64url").toString()), claims: JSON.parse(Buffer.from(c!, "base64url").toString()) };
}

export interface Member {
  account: Account;
  memberId: string;
}

/** Registers a new user and adds them to `owner`'s organization (or `orgId`) with `role`, through the API. */
export async function addMember(server: TestServer, owner: Account, role: Role, opts: { tag?: string; orgId?: string } = {}): Promise<Member> {
  const account = await registerAccount(server, opts.tag ?? role.toLowerCase());
  const orgId = opts.orgId ?? owner.orgId;
  const res = await call(server, "POST", `/organizations/${orgId}/members`, { token: owner.token, body: { email: account.email, role } });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { account, memberId: res.body.id };
}

/** The membership id of `userId` in `orgId`, read through the API with `token`. */
export async function memberIdOf(server: TestServer, token: string, orgId: string, userId: string): Promise<string> {
  const res = await call(server, "GET", `/organizations/${orgId}/members?limit=100`, { token });
  if (res.status !== 200) throw new Error(`list members failed: ${res.status} ${JSON.stringify(res.body)}`);
  const m = (res.body.data as { id: string; userId: string }[]).find((x) => x.userId === userId);
  if (!m) throw new Error(`${userId} is not a member of ${orgId}`);
  return m.id;
}

/** The envelope without its per-request id, to compare two failures' bodies. */
export const withoutRequestId = (body: Record<string, unknown>) => {
  const { requestId: _r, ...rest } = body;
  return rest;
};

/** The dashboard's client: `@trpc/client` against `/trpc`, with a Bearer token when given. */
export function trpcClient(server: TestServer, token?: string, opts: { batch?: boolean; headers?: Record<string, string> } = {}) {
  const link = (opts.batch ? httpBatchLink : httpLink)({
    url: `${server.url}/trpc`,
    headers: () => ({ ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers }),
  });
  return createTRPCClient<AppRouter>({ links: [link] });
}

/** Runs `fn`, which must throw, and returns what it threw. */
export async function rejection<E = any>(fn: () => Promise<unknown>): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return e as E;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Text that must never appear in a response body: stack frames, SQL, driver error names. */
export const LEAK = /\bat [\w.<>]+ \(|node_modules|\.ts:\d+|\bselect\b[^"]*\bfrom\b|\binsert into\b|\bupdate\b\s+"?\w+"?\s+set\b|SQLITE_|sqlite3|duplicate key|violates|stack/i;

import type { AuthRule } from "@reachbell/contract";
import type { Context } from "../context";
import { DomainError, errorForLog } from "../errors";
import { authenticate } from "./authenticate";

/**
 * What a write gets when the database refused it on a foreign key: a row it references was deleted
 * while the request was under way, most often its project or organization (the API key was verified,
 * or the membership read, just before). The request is answered as it would be if it arrived now:
 * the credential, organization, tenant and project are checked again, an API key against the
 * database rather than this instance's cache (the deletion's invalidation may not have arrived yet).
 * So the racing write gets the 401/404 the next request gets, never a 500. When they all still stand,
 * something else the request named went meanwhile (a subscriber deleted, say): 404 Not found.
 */
export async function vanishedReferenceError(rule: AuthRule, ctx: Context, getRawInput: () => Promise<unknown>, cause: unknown): Promise<DomainError> {
  try {
    await authenticate(rule, ctx, getRawInput, { freshApiKey: true });
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  ctx.deps.logger.warn("a write referenced a row deleted meanwhile", { requestId: ctx.requestId, error: errorForLog(cause) });
  return new DomainError("NOT_FOUND");
}

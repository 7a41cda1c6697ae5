import { InvalidTokenError, signHs256, verifyHs256 } from "@reachbell/auth";
import type { Deps } from "../context";

/** Dashboard JWT: `sub` is the user id; `type: "user"` keeps it apart from partner and tenant tokens. */
export function issueUserToken(deps: Deps, userId: string): Promise<string> {
  return signHs256({ sub: userId, type: "user" }, deps.jwtKey, deps.config.jwtExpiresInSeconds, deps.clock().getTime());
}

/**
 * No dashboard token outlives JWT_EXPIRES_IN: lowering it also shortens tokens already issued, and a
 * token dated in the future (possible only with JWT_SECRET) gains nothing. Same checks as partner tokens.
 */
export async function verifyUserToken(deps: Deps, token: string): Promise<string> {
  const claims = await verifyHs256(token, deps.jwtKey, { now: deps.clock().getTime(), maxLifetimeSeconds: deps.config.jwtExpiresInSeconds });
  if (claims.type !== "user" || typeof claims.sub !== "string") throw new InvalidTokenError("type");
  return claims.sub;
}

import { InvalidTokenError, signHs256, verifyHs256 } from "@reachbell/auth";
import type { Deps } from "../context";

/** Dashboard JWT: `sub` is the user id; `type: "user"` keeps it apart from partner and tenant tokens. */
export function issueUserToken(deps: Deps, userId: string): Promise<string> {
  return signHs256({ sub: userId, type: "user" }, deps.jwtKey, deps.config.jwtExpiresInSeconds, deps.clock().getTime());
}

export async function verifyUserToken(deps: Deps, token: string): Promise<string> {
  const claims = await verifyHs256(token, deps.jwtKey, { now: deps.clock().getTime() });
  if (claims.type !== "user" || typeof claims.sub !== "string") throw new InvalidTokenError("type");
  return claims.sub;
}

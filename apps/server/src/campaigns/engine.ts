// The campaign fan-out engine. STUB: replaced by the engine's implementation (batching, queue,
// scheduler, recovery). The lifecycle already calls it through the Fanout seam.

import type { Deps } from "../context";
import type { Fanout } from "./fanout";

export function createFanout(_deps: Omit<Deps, "fanout">): Fanout {
  return {
    async begin() {},
    changed() {},
    async start() {},
    async stop() {},
  };
}

// The script-tag build: window.ReachBell is the SDK object (init, prompt, identify, …, permission).
import ReachBell from "./index";

(globalThis as unknown as { ReachBell: typeof ReachBell }).ReachBell = ReachBell;

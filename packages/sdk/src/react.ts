// React binding: `import { useReachBell } from "@reachbell/sdk/react"`. React is an optional peer
// dependency: only this entry imports it. Call ReachBell.init() once (e.g. in your app's entry).

import { useCallback, useEffect, useState } from "react";
import { type Permission, type PromptResult, getPermission, prompt as sdkPrompt, whenReady } from "./index";

export interface UseReachBell {
  /** Asks for permission and subscribes (call it from a click handler). */
  prompt: () => Promise<PromptResult>;
  /** The browser's notification permission, updated after prompt(). */
  permission: Permission;
  /** True once init() has run and its first check is done. */
  isReady: boolean;
}

export function useReachBell(): UseReachBell {
  const [permission, setPermission] = useState<Permission>(() => (typeof window === "undefined" ? "default" : getPermission()));
  const [isReady, setReady] = useState(false);
  useEffect(() => {
    let live = true;
    void whenReady().then(() => {
      if (!live) return;
      setReady(true);
      setPermission(getPermission());
    });
    return () => {
      live = false;
    };
  }, []);
  const prompt = useCallback(async () => {
    try {
      return await sdkPrompt();
    } finally {
      setPermission(getPermission());
    }
  }, []);
  return { prompt, permission, isReady };
}

// Piscina worker for campaign sends: encrypts a batch of recipients' payloads (RFC 8291: ECDH +
// HKDF + AES-128-GCM) off the event loop. Only the CPU-heavy half of a build runs here; headers and
// the VAPID authorization (cached per push-service origin) are added on the main thread
// (assemblePushRequest). One task carries many recipients so the message passing is amortised.
// Built as its own tsup entry (dist/crypto-worker.js); under tsx the pool loads this file directly.

import { encryptPushPayload } from "@reachbell/push";

export interface EncryptItem {
  p256dh: string;
  auth: string;
  payload: string;
}

export interface EncryptBatchResult {
  /** Every encrypted body back to back; item i is bytes [ends[i-1] ?? 0, ends[i]). */
  bodies: Uint8Array;
  ends: number[];
  /** Per item: null, or why the push library refused it (the item's bytes are then empty). */
  errors: (string | null)[];
}

export function encryptBatch(items: EncryptItem[]): EncryptBatchResult {
  const parts: (Buffer | null)[] = [];
  const errors: (string | null)[] = [];
  let total = 0;
  for (const item of items) {
    try {
      const body = encryptPushPayload(item, item.payload);
      parts.push(body);
      errors.push(null);
      total += body.length;
    } catch (e) {
      parts.push(null);
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  const bodies = new Uint8Array(total);
  const ends: number[] = [];
  let at = 0;
  for (const p of parts) {
    if (p) {
      bodies.set(p, at);
      at += p.length;
    }
    ends.push(at);
  }
  return { bodies, ends, errors };
}

export default function task(input: { items: EncryptItem[] }): EncryptBatchResult {
  return encryptBatch(input.items);
}

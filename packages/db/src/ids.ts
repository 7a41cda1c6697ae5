import { randomBytes } from "node:crypto";

// Crockford base32, as ULID uses: ids sort by creation time (good for cursors and for index
// locality: time-ordered ids insert about 3x faster than random ones as tables grow).
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export const ID_PREFIXES = ["usr", "org", "mem", "proj", "key", "sub", "tok", "msg", "ptn", "cmp", "seg", "req", "att", "psk"] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];

/** `prefix_` + 10 chars of milliseconds + 16 chars (80 bits) of randomness. */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = "";
  // 80 bits → 16 base32 chars, 5 bits at a time.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      rand += ALPHABET[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return `${prefix}_${time}${rand}`;
}

import { randomBytes } from "node:crypto";

// Crockford base32, as ULID uses: ids sort by creation time (good for cursors and for index
// locality: time-ordered ids insert about 3x faster than random ones as tables grow).
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export const ID_PREFIXES = ["usr", "org", "mem", "proj", "key", "sub", "tok", "msg", "ptn", "cmp", "seg", "req", "att", "psk"] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];

let lastMs = -1;
let lastTime = "";

/** 10 base32 chars of milliseconds; the last one is reused (many ids share a millisecond). */
function timePart(now: number): string {
  if (now === lastMs) return lastTime;
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  lastMs = now;
  lastTime = time;
  return time;
}

// CSPRNG bytes drawn in blocks: one randomBytes call per 400 ids instead of one per id.
const POOL_SIZE = 4000;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

/** `prefix_` + 10 chars of milliseconds + 16 chars (80 bits) of randomness. */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  if (poolOffset + 10 > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  // 80 bits → 16 base32 chars: two 40-bit halves.
  const rand = base32x8(pool.readUIntBE(poolOffset, 5)) + base32x8(pool.readUIntBE(poolOffset + 5, 5));
  poolOffset += 10;
  return `${prefix}_${timePart(now)}${rand}`;
}

/** 8 base32 chars (40 bits) of `n`. */
function base32x8(n: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) {
    s = ALPHABET[n % 32] + s;
    n = Math.floor(n / 32);
  }
  return s;
}

const PROCESS_TAG = base32x8(randomBytes(5).readUIntBE(0, 5));
let sequence = 0;

/**
 * Same shape as newId (`prefix_` + 26 chars) for ids that must be unique but need not be
 * unguessable (request ids): milliseconds + a random per-process tag + a counter. Cheaper than
 * drawing randomness on every request.
 */
export function newSequentialId(prefix: IdPrefix, now = Date.now()): string {
  sequence = (sequence + 1) % 2 ** 40;
  return `${prefix}_${timePart(now)}${PROCESS_TAG}${base32x8(sequence)}`;
}

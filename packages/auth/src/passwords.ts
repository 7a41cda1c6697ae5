import { hash, verify } from "@node-rs/argon2";

// OWASP argon2id parameters: 19 MiB, t=2, p=1 (about 28 ms per hash on this machine's kind).
const OPTIONS = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashing is CPU-bound and slow by design: cap the hashes in flight so a burst of logins queues
 * instead of starving every other request (and memory: 19 MiB each).
 */
export class PasswordHasher {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  // A real hash of a random password: unknown emails are verified against it so they take as long as wrong passwords.
  private dummy: Promise<string> | undefined;

  constructor(private readonly maxConcurrent = 4) {}

  hash(password: string): Promise<string> {
    return this.limit(() => hash(password, OPTIONS));
  }

  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.limit(() => verify(passwordHash, password).catch(() => false));
  }

  /** Spends the same time as `verify` and always fails. */
  async verifyAgainstDummy(password: string): Promise<false> {
    this.dummy ??= this.hash(`dummy-${Math.random()}`);
    await this.verify(await this.dummy, password);
    return false;
  }

  private async limit<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrent) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

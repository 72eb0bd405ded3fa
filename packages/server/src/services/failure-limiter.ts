/**
 * Token buckets of failures, per key (a source address, a device identity): each key may fail
 * `capacity` times, refilled at `capacity` per minute. Checking costs a Map lookup, so a flood of
 * bad requests is turned away before any parsing, cryptography or database work. In memory, per
 * process, and bounded: past `maxKeys` the least recently failed keys are forgotten.
 */
export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  blockedForMs(key: string): number {
    const tokens = this.tokens(key);
    if (tokens >= 1) return 0;
    return Math.ceil(((1 - tokens) * 60_000) / this.capacity);
  }

  /** Records one failure for `key`. */
  fail(key: string): void {
    const tokens = this.tokens(key) - 1;
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, at: this.now() });
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  private tokens(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.capacity;
    const refilled = bucket.tokens + ((this.now() - bucket.at) * this.capacity) / 60_000;
    return Math.min(this.capacity, refilled);
  }
}

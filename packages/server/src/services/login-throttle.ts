/**
 * Login brute-force brake, per user name and per source address: the first few failures are
 * free, then each further one doubles a lock-out (1 s, 2 s, 4 s … up to 15 min) during which even
 * the right password is refused. A success clears the user's counter. In memory, per process:
 * several server processes each apply it (a fleet-wide limit will live in the database).
 */
export const FREE_FAILURES = 5;
const BASE_LOCK_MS = 1000;
const MAX_LOCK_MS = 15 * 60_000;
/** Forget a key after this long without failures (bounded memory under a spray of names). */
const FORGET_AFTER_MS = 60 * 60_000;
const MAX_KEYS = 100_000;

interface Failures {
  count: number;
  lockedUntil: number;
  last: number;
}

export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds the caller must still wait, 0 when a login may be tried. */
  retryAfterMs(username: string, ip: string): number {
    const t = this.now();
    return Math.max(0, ...[`u:${username}`, `ip:${ip}`].map((key) => (this.failures.get(key)?.lockedUntil ?? 0) - t));
  }

  /** Returns the failure count of the user name after this one (for security-event severity). */
  failed(username: string, ip: string): number {
    const t = this.now();
    this.prune(t);
    let count = 0;
    for (const key of [`u:${username}`, `ip:${ip}`]) {
      const known = this.failures.get(key);
      // A quiet hour starts the count afresh: a year of occasional typos is not an attack.
      const entry = known && t - known.last <= FORGET_AFTER_MS ? known : { count: 0, lockedUntil: 0, last: t };
      entry.count++;
      entry.last = t;
      if (entry.count > FREE_FAILURES) entry.lockedUntil = t + Math.min(MAX_LOCK_MS, BASE_LOCK_MS * 2 ** (entry.count - FREE_FAILURES - 1));
      this.failures.set(key, entry);
      if (key.startsWith('u:')) count = entry.count;
    }
    return count;
  }

  succeeded(username: string): void {
    this.failures.delete(`u:${username}`);
  }

  private prune(t: number): void {
    if (this.failures.size < MAX_KEYS) return;
    for (const [key, entry] of this.failures) if (t - entry.last > FORGET_AFTER_MS) this.failures.delete(key);
  }
}

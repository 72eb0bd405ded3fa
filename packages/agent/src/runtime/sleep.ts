/** Waits `ms`, or less when `signal` aborts (then resolves, never rejects: stopping is not an error). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `ms` spread by up to `share` either way, so a fleet that started together does not stay in step. */
export function jittered(ms: number, share: number, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 + share * (2 * random() - 1))));
}

/** Exponential back-off from `firstMs`, doubling per failure, capped at `maxMs`. */
export function backoffMs(failures: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

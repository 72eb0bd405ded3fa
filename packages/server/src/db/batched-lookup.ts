/**
 * Coalesces lookups by key that arrive in the same turn of the event loop into one query per
 * `maxBatch` keys (the DataLoader pattern). Every lookup still reads the database after it was
 * asked for, so nothing is served from an older read; under load, a thousand concurrent device
 * requests cost tens of round trips instead of a thousand.
 */
export class BatchedLookup<V> {
  private queued = new Map<string, ((value: V | undefined) => void)[]>();
  private failures = new Map<string, ((err: unknown) => void)[]>();
  private scheduled = false;

  constructor(
    private readonly load: (keys: readonly string[]) => Promise<Map<string, V>>,
    private readonly maxBatch = 100,
  ) {}

  get(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiting = this.queued.get(key);
      if (waiting) {
        waiting.push(resolve);
        this.failures.get(key)?.push(reject);
      } else {
        this.queued.set(key, [resolve]);
        this.failures.set(key, [reject]);
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const queued = this.queued;
    const failures = this.failures;
    this.queued = new Map();
    this.failures = new Map();
    this.scheduled = false;
    const keys = [...queued.keys()];
    for (let i = 0; i < keys.length; i += this.maxBatch) {
      const batch = keys.slice(i, i + this.maxBatch);
      this.load(batch).then(
        (found) => {
          for (const key of batch) for (const resolve of queued.get(key) ?? []) resolve(found.get(key));
        },
        (err: unknown) => {
          for (const key of batch) for (const reject of failures.get(key) ?? []) reject(err);
        },
      );
    }
  }
}

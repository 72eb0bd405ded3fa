import type { CurrentDevice } from './device.repository.js';

/**
 * The device records device requests read, kept in memory, for a database that only this process
 * writes (SQLite, held by lockDataDirectory). Every write of a cached field goes through
 * DeviceRepository, which forgets the device first; and a read that was in flight while any device
 * was forgotten is not remembered, so a decommissioned device can never be served from a value read
 * before the decision. With PostgreSQL other processes write too, and nothing is cached.
 */
export class DeviceCache {
  private readonly entries = new Map<string, CurrentDevice>();
  private generation = 0;

  constructor(private readonly maxEntries = 100_000) {}

  get(id: string): CurrentDevice | undefined {
    return this.entries.get(id);
  }

  /** Taken before reading the database; `remember` keeps the result only if nothing was forgotten since. */
  snapshot(): number {
    return this.generation;
  }

  remember(id: string, device: CurrentDevice, snapshot: number): void {
    if (snapshot !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(id, device);
  }

  forget(id: string): void {
    this.generation++;
    this.entries.delete(id);
  }
}

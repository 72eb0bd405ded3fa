import type { DeviceRepository } from '../repositories/device.repository.js';

const STAMP_EVERY_MS = 60_000;
const FLUSH_AFTER_MS = 1000;
const MAX_REMEMBERED = 200_000;
const CHUNK = 500;

/**
 * When each device was last heard from, for the "not checked in for N hours" report, without a
 * write per request: a device is stamped at most once a minute per process, and stamps are written
 * together a second later.
 */
export class DevicePresence {
  private readonly stamped = new Map<string, number>();
  private readonly due = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly devices: DeviceRepository,
    private readonly now: () => Date,
    private readonly report: (err: unknown) => void,
  ) {}

  seen(deviceId: string): void {
    const at = this.now().getTime();
    if (at - (this.stamped.get(deviceId) ?? Number.NEGATIVE_INFINITY) < STAMP_EVERY_MS) return;
    if (this.stamped.size >= MAX_REMEMBERED) this.stamped.clear();
    this.stamped.set(deviceId, at);
    this.due.add(deviceId);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_AFTER_MS).unref();
  }

  /** Writes the stamps not written yet (also on shutdown). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ids = [...this.due];
    this.due.clear();
    const at = this.now().toISOString();
    this.flushing = this.flushing.then(async () => {
      for (let i = 0; i < ids.length; i += CHUNK) await this.devices.markSeen(ids.slice(i, i + CHUNK), at).catch(this.report);
    });
    return this.flushing;
  }
}

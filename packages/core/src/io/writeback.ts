import type { FileHandle } from 'node:fs/promises';

/** Every 32 MiB written, ask the disk to catch up while the writer keeps hashing and compressing. */
export const DEFAULT_WRITEBACK_BYTES = 32 * 1024 * 1024;

/**
 * Flushes a file being written in the background, so the final fsync of a large artifact waits
 * for the last few MiB instead of all of them: the disk works while the CPU hashes. At most one
 * flush is in flight; a failed background flush fails `finish()`, never goes unnoticed.
 */
export class BackgroundWriteback {
  private pending: Promise<void> | null = null;
  private failure: unknown = null;
  private sinceFlush = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly everyBytes = DEFAULT_WRITEBACK_BYTES,
  ) {}

  /** Records `bytes` written; starts a background flush when enough have piled up. */
  wrote(bytes: number): void {
    this.sinceFlush += bytes;
    if (this.sinceFlush < this.everyBytes || this.pending !== null) return;
    this.sinceFlush = 0;
    this.pending = this.handle.datasync().then(
      () => {
        this.pending = null;
      },
      (err: unknown) => {
        this.failure ??= err;
        this.pending = null;
      },
    );
  }

  /** Waits for any background flush, then makes the whole file durable. */
  async finish(): Promise<void> {
    await this.pending;
    if (this.failure !== null) throw this.failure;
    await this.handle.sync();
  }

  /** Lets an in-flight flush settle before the handle is closed (on failure paths). */
  async settle(): Promise<void> {
    await this.pending;
  }
}

import { type FileHandle, open } from 'node:fs/promises';
import { fileError } from '../errors/slipway-error.js';

/**
 * A pull-based source of bytes. A returned chunk is *borrowed*: it stays valid only until the
 * next call to `next()`, which lets file sources reuse two buffers instead of allocating (and
 * page-faulting) a fresh one per read.
 */
export interface ChunkSource {
  next(): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** 4 MiB reads keep syscall and hashing overhead per byte negligible. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

export interface FileChunkSourceOptions {
  readonly chunkBytes?: number;
  readonly start?: number;
  /**
   * How many buffers rotate. A chunk returned by `next()` stays valid for `ringSize - 2` further
   * calls (one buffer is always being filled ahead). The default 2 is plain double buffering; a
   * consumer that holds chunks while they are compressed in parallel asks for more.
   */
  readonly ringSize?: number;
}

/**
 * Reads a file with one read always in flight ahead of the consumer, into a fixed ring of
 * buffers allocated once: no allocation (and no page faults on fresh memory) per read.
 */
export class FileChunkSource implements ChunkSource {
  private readonly buffers: Buffer[];
  private current = 0;
  private position: number;
  private pending: Promise<number> | null = null;

  private constructor(
    private readonly handle: FileHandle,
    chunkBytes: number,
    start: number,
    ringSize: number,
  ) {
    this.buffers = Array.from({ length: ringSize }, () => Buffer.allocUnsafeSlow(chunkBytes));
    this.position = start;
  }

  static async open(path: string, options: FileChunkSourceOptions = {}): Promise<FileChunkSource> {
    const ringSize = options.ringSize ?? 2;
    if (!Number.isInteger(ringSize) || ringSize < 2) throw new RangeError('ringSize must be an integer >= 2');
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw fileError(err, path, 'read');
    }
    return new FileChunkSource(handle, options.chunkBytes ?? DEFAULT_CHUNK_BYTES, options.start ?? 0, ringSize);
  }

  private async readInto(index: number): Promise<number> {
    const buffer = this.buffers[index] as Buffer;
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  async next(): Promise<Uint8Array | null> {
    this.pending ??= this.readInto(this.current);
    const bytesRead = await this.pending;
    if (bytesRead === 0) return null;
    const chunk = (this.buffers[this.current] as Buffer).subarray(0, bytesRead);
    // Refill the next buffer of the ring while the consumer works on this one.
    this.current = (this.current + 1) % this.buffers.length;
    this.pending = this.readInto(this.current);
    return chunk;
  }

  async close(): Promise<void> {
    // Let an in-flight read settle before closing its descriptor.
    await this.pending?.catch(() => undefined);
    await this.handle.close();
  }
}

/** Adapts any async iterable of bytes (an HTTP body, a Node stream) to a ChunkSource. */
export function iterableSource(iterable: AsyncIterable<Uint8Array>, onClose?: () => Promise<void> | void): ChunkSource {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    async next() {
      for (;;) {
        const step = await iterator.next();
        if (step.done) return null;
        if (step.value.length > 0) return step.value;
      }
    },
    async close() {
      await iterator.return?.();
      await onClose?.();
    },
  };
}

/** A source over bytes already in memory (tests, small artifacts). */
export function bufferSource(bytes: Uint8Array, chunkBytes = 64 * 1024): ChunkSource {
  let offset = 0;
  return {
    async next() {
      if (offset >= bytes.length) return null;
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + chunkBytes));
      offset += chunk.length;
      return chunk;
    },
    async close() {},
  };
}

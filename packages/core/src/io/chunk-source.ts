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

/** Reads a file with one read always in flight ahead of the consumer (double buffering). */
export class FileChunkSource implements ChunkSource {
  private readonly buffers: [Buffer, Buffer];
  private current: 0 | 1 = 0;
  private position: number;
  private pending: Promise<number> | null = null;
  private readonly chunkBytes: number;

  private constructor(
    private readonly handle: FileHandle,
    chunkBytes: number,
    start: number,
    private readonly reuseBuffers: boolean,
  ) {
    // Owned mode allocates per read instead; these stay empty placeholders carrying the size.
    this.buffers = reuseBuffers
      ? [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)]
      : [Buffer.alloc(0), Buffer.alloc(0)];
    this.chunkBytes = chunkBytes;
    this.position = start;
  }

  static async open(path: string, options: { chunkBytes?: number; start?: number; reuseBuffers?: boolean } = {}): Promise<FileChunkSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw fileError(err, path, 'read');
    }
    return new FileChunkSource(handle, options.chunkBytes ?? DEFAULT_CHUNK_BYTES, options.start ?? 0, options.reuseBuffers ?? true);
  }

  private async readInto(index: 0 | 1): Promise<number> {
    if (!this.reuseBuffers) this.buffers[index] = Buffer.allocUnsafe(this.chunkBytes);
    const buffer = this.buffers[index];
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  async next(): Promise<Uint8Array | null> {
    this.pending ??= this.readInto(this.current);
    const bytesRead = await this.pending;
    if (bytesRead === 0) return null;
    const chunk = this.buffers[this.current].subarray(0, bytesRead);
    // The consumer has released the other buffer by calling next(): refill it while they work.
    this.current = this.current === 0 ? 1 : 0;
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

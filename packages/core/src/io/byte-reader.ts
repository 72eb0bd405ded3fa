import { SlipwayError } from '../errors/slipway-error.js';
import type { ChunkSource } from './chunk-source.js';

/**
 * Exact-length reads over a ChunkSource. `readExact` copies (for small headers); `readRange`
 * yields borrowed views without copying (for payload bytes). Running out of bytes is always
 * SLW_ARTIFACT_TRUNCATED: the reader never guesses what a missing byte would have been.
 */
export class ByteReader {
  private chunk: Uint8Array | null = null;
  private offset = 0;
  private ended = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(private readonly source: ChunkSource) {}

  private async fill(): Promise<boolean> {
    if (this.chunk && this.offset < this.chunk.length) return true;
    if (this.ended) return false;
    this.chunk = await this.source.next();
    this.offset = 0;
    if (this.chunk === null) this.ended = true;
    return this.chunk !== null;
  }

  async readExact(length: number, what: string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      if (!(await this.fill()) || !this.chunk) throw truncated(what);
      const take = Math.min(length - filled, this.chunk.length - this.offset);
      out.set(this.chunk.subarray(this.offset, this.offset + take), filled);
      this.offset += take;
      filled += take;
      this.position += take;
    }
    return out;
  }

  /** Yields exactly `length` bytes as borrowed views, each valid until the next iteration. */
  async *readRange(length: number, what: string): AsyncGenerator<Uint8Array, void, undefined> {
    let left = length;
    while (left > 0) {
      if (!(await this.fill()) || !this.chunk) throw truncated(what);
      const take = Math.min(left, this.chunk.length - this.offset);
      const view = this.chunk.subarray(this.offset, this.offset + take);
      this.offset += take;
      this.position += take;
      left -= take;
      yield view;
    }
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

function truncated(what: string): SlipwayError {
  return new SlipwayError('SLW_ARTIFACT_TRUNCATED', `artifact ends inside ${what}`);
}

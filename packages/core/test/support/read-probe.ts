// Reads an artifact the way a device would and records what happened: how far the source was
// pulled, which payload bytes were handed out, and the error that ended the read.
import { type ArtifactLimits, ArtifactReader, bufferSource, type ChunkSource, type TrustedRoot } from '../../src/index.js';

/** A source over bytes in memory that counts how many bytes it has handed to the reader. */
export interface TrackingSource extends ChunkSource {
  readonly delivered: number;
  readonly closed: boolean;
}

export function trackingSource(bytes: Uint8Array, chunkBytes = 64 * 1024): TrackingSource {
  const inner = bufferSource(bytes, chunkBytes);
  const state = { delivered: 0, closed: false };
  return {
    get delivered() {
      return state.delivered;
    },
    get closed() {
      return state.closed;
    },
    async next() {
      const chunk = await inner.next();
      if (chunk) state.delivered += chunk.length;
      return chunk;
    },
    async close() {
      state.closed = true;
      await inner.close();
    },
  };
}

export interface ReadOutcome {
  /** Each payload's yielded bytes, copied, including those of a payload that failed midway. */
  readonly payloads: Buffer[];
  /** Total payload bytes yielded before the read ended. */
  readonly yieldedBytes: number;
  /** True when the failure came from `open` (before any payload was offered). */
  readonly failedAtOpen: boolean;
  readonly error: unknown;
  /** Source bytes pulled by the reader when it stopped. */
  readonly delivered: number;
  readonly sourceClosed: boolean;
  readonly largestChunk: number;
}

export interface ProbeOptions {
  readonly trust: TrustedRoot | null;
  readonly chunkBytes?: number;
  readonly limits?: Partial<ArtifactLimits>;
}

/** Reads every payload to its end, never throwing: the outcome says how the read ended. */
export async function probeRead(bytes: Uint8Array, options: ProbeOptions): Promise<ReadOutcome> {
  const source = trackingSource(bytes, options.chunkBytes);
  const payloads: Buffer[] = [];
  let yieldedBytes = 0;
  let largestChunk = 0;
  let failedAtOpen = true;
  let error: unknown = null;
  let parts: Buffer[] | null = null;
  try {
    const reader = await ArtifactReader.open(
      source,
      options.limits ? { trust: options.trust, limits: options.limits } : { trust: options.trust },
    );
    failedAtOpen = false;
    for await (const payload of reader.payloads()) {
      parts = [];
      for await (const chunk of payload) {
        yieldedBytes += chunk.length;
        largestChunk = Math.max(largestChunk, chunk.length);
        parts.push(Buffer.from(chunk));
      }
      payloads.push(Buffer.concat(parts));
      parts = null;
    }
  } catch (err) {
    error = err;
    if (parts) payloads.push(Buffer.concat(parts));
  }
  return { payloads, yieldedBytes, failedAtOpen, error, delivered: source.delivered, sourceClosed: source.closed, largestChunk };
}

import { availableParallelism } from 'node:os';
import type { Transform } from 'node:stream';
import { promisify } from 'node:util';
import { constants, createGunzip, deflateRaw, gzip } from 'node:zlib';
import { isSlipwayError, SlipwayError } from '../errors/slipway-error.js';
import type { Compression } from './manifest.js';

/**
 * Payload codecs. Each takes borrowed input chunks and yields output chunks that are valid until
 * the consumer asks for the next one, so memory stays a few fixed buffers whatever the payload size.
 *
 * zstd windows are capped at 8 MiB (windowLog 23) on both sides: a device's decompression memory
 * stays small and bounded whatever an artifact asks for.
 */
const ZSTD_WINDOW_LOG_MAX = 23;
export const MAX_ZSTD_LEVEL = 19;
const CODEC_OUTPUT_BYTES = 1024 * 1024;
/** gzip is compressed as independent 1 MiB members, several at once on libuv's thread pool. */
const GZIP_BLOCK_BYTES = 1024 * 1024;
const GZIP_SAMPLE_BYTES = 32 * 1024;
/** A block whose sample does not shrink below this ratio is stored (level 0): compressing it costs time and saves nothing. */
const INCOMPRESSIBLE_RATIO = 0.97;
const gzipAsync = promisify(gzip);
const deflateRawAsync = promisify(deflateRaw);

type ZstdBinding = typeof import('zstd-napi/binding.js');
let zstd: Promise<ZstdBinding> | undefined;

/** Loaded on first use, so artifacts without zstd never need the native module. */
function loadZstd(): Promise<ZstdBinding> {
  zstd ??= import('zstd-napi/binding.js')
    .then((m) => ((m as { default?: ZstdBinding }).default ?? m) as ZstdBinding)
    .catch((err: unknown) => {
      zstd = undefined;
      throw new SlipwayError('SLW_ARTIFACT_COMPRESSION_UNSUPPORTED', 'zstd support (zstd-napi) is not installed', { cause: err });
    });
  return zstd;
}

export interface EncodeOptions {
  readonly level?: number | undefined;
}

/**
 * Compresses a stream of content chunks. For gzip the chunks must be owned (not reused by the
 * source) because several blocks are compressed concurrently.
 */
export async function* encode(
  compression: Exclude<Compression, 'none'>,
  content: AsyncIterable<Uint8Array>,
  options: EncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (compression === 'gzip') {
    yield* gzipBlocks(content, options);
    return;
  }
  const binding = await loadZstd();
  const cctx = new binding.CCtx();
  // Levels 1-19 keep zstd's default windows at or below 2^23, which the decoder's cap accepts.
  cctx.setParameter(binding.CParameter.compressionLevel, options.level ?? 3);
  const out = Buffer.allocUnsafeSlow(CODEC_OUTPUT_BYTES);
  for await (const chunk of content) {
    let consumed = 0;
    while (consumed < chunk.length) {
      const [, produced, used] = cctx.compressStream2(out, chunk.subarray(consumed), binding.EndDirective.continue);
      consumed += used;
      if (produced > 0) yield out.subarray(0, produced);
    }
  }
  for (;;) {
    const [remaining, produced] = cctx.compressStream2(out, Buffer.alloc(0), binding.EndDirective.end);
    if (produced > 0) yield out.subarray(0, produced);
    if (remaining === 0) break;
  }
}

async function* gzipBlocks(content: AsyncIterable<Uint8Array>, options: EncodeOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
  const concurrency = Math.max(2, Math.min(4, availableParallelism()));
  const pending: Promise<Buffer>[] = [];
  // Both steps run on the thread pool, leaving the main thread to hash and write.
  const compressBlock = async (block: Uint8Array): Promise<Buffer> => {
    const sample = block.subarray(0, GZIP_SAMPLE_BYTES);
    // One output chunk per call: zlib's 16 KiB default would bounce ~64 times per block between the pool and the main thread.
    const sampled = await deflateRawAsync(sample, { level: 1, chunkSize: GZIP_SAMPLE_BYTES + 1024 });
    const incompressible = sampled.length > sample.length * INCOMPRESSIBLE_RATIO;
    return gzipAsync(block, { level: incompressible ? 0 : level, chunkSize: block.length + 64 * 1024 });
  };
  try {
    for await (const chunk of content) {
      for (let offset = 0; offset < chunk.length; offset += GZIP_BLOCK_BYTES) {
        pending.push(compressBlock(chunk.subarray(offset, offset + GZIP_BLOCK_BYTES)));
        while (pending.length >= concurrency) yield await (pending.shift() as Promise<Buffer>);
      }
    }
    if (pending.length === 0) pending.push(gzipAsync(Buffer.alloc(0), { level }));
    while (pending.length > 0) yield await (pending.shift() as Promise<Buffer>);
  } finally {
    // Settle abandoned work so no rejection goes unhandled.
    for (const p of pending) p.catch(() => undefined);
  }
}

/**
 * Decompresses stored bytes. Codec failures become `corrupt(cause)`; errors raised by the input
 * (truncation, a hash mismatch) pass through unchanged.
 */
export async function* decode(
  compression: Exclude<Compression, 'none'>,
  stored: AsyncIterable<Uint8Array>,
  corrupt: (cause: unknown) => SlipwayError,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (compression === 'gzip') {
    yield* gunzipChunks(stored, corrupt);
    return;
  }
  const binding = await loadZstd();
  const dctx = new binding.DCtx();
  dctx.setParameter(binding.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  const out = Buffer.allocUnsafeSlow(CODEC_OUTPUT_BYTES);
  let frameOpen = false;
  for await (const chunk of stored) {
    let consumed = 0;
    let produced = 0;
    while (consumed < chunk.length || produced === out.length) {
      let result: [number, number, number];
      try {
        result = dctx.decompressStream(out, chunk.subarray(consumed));
      } catch (err) {
        throw corrupt(err);
      }
      const [hint, made, used] = result;
      consumed += used;
      produced = made;
      // A flush call with nothing left to do returns the next frame's header size, not "incomplete".
      if (made > 0 || used > 0) frameOpen = hint !== 0;
      if (made > 0) yield out.subarray(0, made);
      else if (used === 0 && consumed < chunk.length) throw corrupt(new Error('zstd made no progress'));
    }
  }
  if (frameOpen) throw corrupt(new Error('zstd frame is incomplete'));
}

/**
 * Drives node's gunzip transform with explicit backpressure: a borrowed input chunk is held until
 * zlib's write callback says it was consumed, and output is pulled with read(), so a
 * decompression bomb cannot pile up output faster than the caller checks its size.
 */
async function* gunzipChunks(
  stored: AsyncIterable<Uint8Array>,
  corrupt: (cause: unknown) => SlipwayError,
): AsyncGenerator<Uint8Array, void, undefined> {
  const gunzip: Transform = createGunzip({ chunkSize: 64 * 1024 });
  let failure: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  gunzip.on('readable', signal);
  gunzip.on('end', () => {
    ended = true;
    signal();
  });
  gunzip.on('error', (err) => {
    failure = err;
    signal();
  });
  const waitForEvent = () => new Promise<void>((resolve) => (wake = resolve));
  const drain = function* (): Generator<Uint8Array> {
    for (let out = gunzip.read() as Buffer | null; out !== null; out = gunzip.read() as Buffer | null) yield out;
  };
  try {
    for await (const chunk of stored) {
      let accepted = false;
      gunzip.write(chunk, () => {
        accepted = true;
        signal();
      });
      while (!accepted) {
        yield* drain();
        if (failure) throw corrupt(failure);
        if (!accepted) await waitForEvent();
      }
      yield* drain();
    }
    gunzip.end();
    while (!ended) {
      yield* drain();
      if (failure) throw corrupt(failure);
      if (!ended) await waitForEvent();
    }
    yield* drain();
    if (failure) throw corrupt(failure);
  } catch (err) {
    throw isSlipwayError(err) ? err : corrupt(err);
  } finally {
    gunzip.destroy();
  }
}

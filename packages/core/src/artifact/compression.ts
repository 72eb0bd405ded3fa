import type { Transform } from 'node:stream';
import { constants, createGunzip } from 'node:zlib';
import { isSlipwayError, SlipwayError } from '../errors/slipway-error.js';
import { type GzipEngineName, gzipBlocks, gzipEngine } from './gzip-encoder.js';
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
  /** gzip only: force an engine (tests, benchmarks); the default takes libdeflate when built. */
  readonly gzipEngine?: GzipEngineName | 'auto' | undefined;
}

/**
 * Compresses a stream of content chunks. For gzip a chunk must stay intact while the encoder asks
 * for GZIP_HELD_INPUT_CHUNKS more, because several blocks are compressed at once.
 */
export async function* encode(
  compression: Exclude<Compression, 'none'>,
  content: AsyncIterable<Uint8Array>,
  options: EncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (compression === 'gzip') {
    yield* gzipBlocks(content, options.level ?? constants.Z_DEFAULT_COMPRESSION, await gzipEngine(options.gzipEngine));
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

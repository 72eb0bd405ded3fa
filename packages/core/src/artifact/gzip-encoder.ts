import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/**
 * gzip output as a series of independent members, one per 1 MiB block (like pigz and pgzip), so
 * several blocks compress at once on libuv's thread pool while the main thread hashes and
 * writes. Any gunzip reads the concatenation as one stream.
 *
 * Blocks that do not compress are written as *stored* members (a header, raw deflate blocks, a
 * CRC-32): a copy and a checksum instead of running deflate over data that cannot shrink, so
 * random or already-compressed payloads cost almost nothing to "compress". Blocks that do
 * compress go to libdeflate when its optional binding is built, else to Node's zlib.
 */
export const GZIP_BLOCK_BYTES = 1024 * 1024;
/**
 * Blocks compressed at once; the input and output rings are sized from it. One more than the
 * cores keeps every core busy while the main thread hashes and writes (2 in flight on 2 cores
 * left one idle: 4.6 s against 3.6 s for a 512 MiB image); at most 4, the size of libuv's pool,
 * which the file reads and writes share.
 */
export const GZIP_CONCURRENCY = Math.min(4, Math.max(3, availableParallelism() + 1));
/**
 * How many input chunks the encoder may still be reading after it asked for the next one: a
 * source must keep that many earlier chunks intact (see FileChunkSource ringSize).
 */
export const GZIP_HELD_INPUT_CHUNKS = GZIP_CONCURRENCY;

const SAMPLES = 4;
const SAMPLE_BYTES = 4 * 1024;
/** A block whose samples do not shrink below this ratio is stored: deflate would save nothing. */
const INCOMPRESSIBLE_RATIO = 0.97;
const STORED_BLOCK_MAX = 65_535;
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

const gzipAsync = promisify(zlib.gzip);
const deflateRawAsync = promisify(zlib.deflateRaw);
/** zlib.crc32 arrived in Node 20.15; without it, blocks are never stored by hand and zlib deflates them at level 0. */
const crc32: ((data: Uint8Array, value?: number) => number) | undefined = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

export function storedMemberBytes(length: number): number {
  return GZIP_HEADER.length + 5 * Math.max(1, Math.ceil(length / STORED_BLOCK_MAX)) + length + 8;
}

/** Writes `data` as one gzip member of stored deflate blocks into `out`; returns the member. */
export function writeStoredMember(data: Uint8Array, out: Buffer, checksum: (d: Uint8Array) => number): Buffer {
  let at = GZIP_HEADER.copy(out, 0);
  let offset = 0;
  do {
    const length = Math.min(STORED_BLOCK_MAX, data.length - offset);
    const final = offset + length === data.length;
    out[at] = final ? 1 : 0; // BFINAL bit, BTYPE 00 (stored); the header byte ends byte-aligned
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    at += 5;
    out.set(data.subarray(offset, offset + length), at);
    at += length;
    offset += length;
  } while (offset < data.length);
  out.writeUInt32LE(checksum(data) >>> 0, at);
  out.writeUInt32LE(data.length >>> 0, at + 4); // ISIZE is the length modulo 2^32
  return out.subarray(0, at + 8);
}

/** A few small slices spread over the block, so one compressible corner does not decide for all. */
function sampleOf(block: Uint8Array): Uint8Array {
  if (block.length <= SAMPLES * SAMPLE_BYTES) return block;
  const sample = Buffer.allocUnsafe(SAMPLES * SAMPLE_BYTES);
  const stride = Math.floor(block.length / SAMPLES);
  for (let i = 0; i < SAMPLES; i++) sample.set(block.subarray(i * stride, i * stride + SAMPLE_BYTES), i * SAMPLE_BYTES);
  return sample;
}

async function incompressible(block: Uint8Array): Promise<boolean> {
  const sample = sampleOf(block);
  const deflated = await deflateRawAsync(sample, { level: 1, chunkSize: sample.length + 1024 });
  return deflated.length > sample.length * INCOMPRESSIBLE_RATIO;
}

/** Which deflate implementation compresses the blocks that are worth compressing. */
export type GzipEngineName = 'libdeflate' | 'zlib';

interface GzipEngine {
  readonly name: GzipEngineName;
  /** Bytes of an output slot that always holds one block's member. */
  readonly slotBytes: number;
  /** Compresses one block into one gzip member; level 0 stores, other levels store what does not compress. */
  member(block: Uint8Array, level: number, slot: () => Buffer): Promise<Uint8Array>;
}

const zlibEngine: GzipEngine = {
  name: 'zlib',
  slotBytes: storedMemberBytes(GZIP_BLOCK_BYTES),
  async member(block, level, slot) {
    const store = level === 0 || (await incompressible(block));
    if (store && crc32) return writeStoredMember(block, slot(), crc32);
    // One output chunk per call: zlib's 16 KiB default would bounce between the pool and the main thread.
    return gzipAsync(block, { level: store ? 0 : level, chunkSize: block.length + 64 * 1024 });
  },
};

type Libdeflate = NonNullable<typeof import('@slipway/libdeflate').libdeflate>;
let libdeflateEngine: Promise<GzipEngine | null> | undefined;

/** The optional native engine (@slipway/libdeflate), or null when it is not installed or not built. */
function loadLibdeflateEngine(): Promise<GzipEngine | null> {
  libdeflateEngine ??= import('@slipway/libdeflate').then(
    ({ libdeflate }: { libdeflate: Libdeflate | null }) => (libdeflate ? nativeEngine(libdeflate) : null),
    () => null,
  );
  return libdeflateEngine;
}

function nativeEngine(binding: Libdeflate): GzipEngine {
  return {
    name: 'libdeflate',
    slotBytes: binding.gzipBound(GZIP_BLOCK_BYTES),
    async member(block, level, slot) {
      const out = slot();
      // zlib's "default" (-1) is level 6 on both scales; the binding samples each block itself, in the same pool job.
      const written = await binding.gzip(block, out, level < 0 ? 6 : level, true);
      // The slot is sized by libdeflate's own bound, so 0 ("did not fit") means something is badly wrong.
      if (written === 0) throw new Error('libdeflate could not compress a block into its bound');
      return out.subarray(0, written);
    },
  };
}

/** The engine to use: libdeflate when built (about 2.5x less CPU than zlib at a better ratio), else zlib. */
export async function gzipEngine(prefer: GzipEngineName | 'auto' = 'auto'): Promise<GzipEngine> {
  if (prefer === 'zlib') return zlibEngine;
  const native = await loadLibdeflateEngine();
  if (native) return native;
  if (prefer === 'libdeflate') throw new Error('@slipway/libdeflate is not built on this machine');
  return zlibEngine;
}

/**
 * Compresses a stream of content chunks. A chunk must stay intact until the encoder has asked
 * for GZIP_HELD_INPUT_CHUNKS more (several blocks are in flight at once). Each yielded chunk is
 * valid until the consumer asks for the next one.
 */
export async function* gzipBlocks(
  content: AsyncIterable<Uint8Array>,
  level: number,
  engine: GzipEngine = zlibEngine,
): AsyncGenerator<Uint8Array, void, undefined> {
  const pending: Promise<Uint8Array>[] = [];
  // Members are written into a fixed ring: `pending` holds at most GZIP_CONCURRENCY of them and
  // the consumer one more, so a slot is never rewritten while anyone can still see it. Slots are
  // allocated on first use (zlib's compressed members bring their own buffers).
  const ring: (Buffer | undefined)[] = new Array(GZIP_CONCURRENCY + 1).fill(undefined);
  const slotFor = (job: number) => (): Buffer => {
    const index = job % ring.length;
    ring[index] ??= Buffer.allocUnsafeSlow(engine.slotBytes);
    return ring[index];
  };
  let jobs = 0;
  try {
    for await (const chunk of content) {
      for (let offset = 0; offset < chunk.length; offset += GZIP_BLOCK_BYTES) {
        pending.push(engine.member(chunk.subarray(offset, offset + GZIP_BLOCK_BYTES), level, slotFor(jobs++)));
        while (pending.length >= GZIP_CONCURRENCY) yield await (pending.shift() as Promise<Uint8Array>);
      }
    }
    // An empty payload is still one valid (empty) gzip member.
    if (jobs === 0) pending.push(gzipAsync(Buffer.alloc(0), { level }));
    while (pending.length > 0) yield await (pending.shift() as Promise<Uint8Array>);
  } finally {
    // Settle abandoned work so no rejection goes unhandled.
    for (const p of pending) p.catch(() => undefined);
  }
}

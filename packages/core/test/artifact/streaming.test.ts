// The reader streams: payload bytes pass through in bounded chunks and memory does not grow with
// the payload. A device with 256 MiB of RAM installs multi-GiB images this way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  ArtifactReader,
  type ChunkSource,
  type Compression,
  DEFAULT_CHUNK_BYTES,
  FileChunkSource,
  openArtifactFile,
  parseRoot,
  signArtifactFile,
  type TrustedRoot,
  verifyRoot,
} from '../../src/index.js';
import { makeKey, makeRootBytes, NOW, scratchDir } from '../support/fixtures.js';

const MiB = 1024 * 1024;
const RSS_BUDGET = 40 * MiB;

/**
 * Writes payload files in 1 MiB pieces (never a whole payload in memory) and creates unsigned
 * artifacts from them. It runs in a child process so the writer's buffers do not inflate this
 * process's resident memory, which would hide any growth during the reads measured here.
 */
const MAKE_ARTIFACTS = `
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
const [indexUrl, dir, specs] = process.argv.slice(1);
const { createArtifact } = await import(indexUrl);
const made = {};
// Hex text: compressible about 2:1, so both codecs do real work.
const piece = Buffer.from(randomBytes(512 * 1024).toString('hex'));
for (const [label, mib, compression] of JSON.parse(specs)) {
  const payload = join(dir, label + '.bin');
  const handle = await open(payload, 'w');
  const hash = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    piece.writeUInt32BE(i, 0);
    hash.update(piece);
    await handle.write(piece);
  }
  await handle.close();
  const path = join(dir, label + '.slw');
  await createArtifact(path, {
    name: 'gateway-os', version: '1.0.0', securityVersion: 1, deviceTypes: ['gw-100'], payloadType: 'rootfs',
    payloads: [{ path: payload }], compression, compressionLevel: compression === 'gzip' ? 1 : undefined, now: new Date(),
  });
  made[label] = { path, sha256: hash.digest('hex'), bytes: mib * ${MiB} };
}
console.log(JSON.stringify(made));
`;

/**
 * Reads one artifact and reports what it cost. Each measurement runs in a fresh process: resident
 * memory rarely shrinks, so memory freed by an earlier read would be reused by the next one and
 * hide its growth. `gc` is exposed so a measurement can separate live memory from garbage.
 */
const MEASURE_READ = `
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
const [indexUrl, path, rootPath, now, optionsJson] = process.argv.slice(1);
const options = JSON.parse(optionsJson);
const { openArtifactFile, parseRoot, verifyRoot } = await import(indexUrl);
const trust = verifyRoot(parseRoot(await readFile(rootPath)), { now: new Date(now) });
gc();
const baseline = process.memoryUsage.rss();
let peak = baseline;
const hash = createHash('sha256');
const retained = [];
let bytes = 0;
let chunks = 0;
let largestChunk = 0;
let nextGc = options.gcEveryBytes ?? Number.POSITIVE_INFINITY;
const reader = await openArtifactFile(path, trust);
for await (const payload of reader.payloads()) {
  for await (const chunk of payload) {
    hash.update(chunk);
    if (options.retain) retained.push(Buffer.from(chunk));
    bytes += chunk.length;
    chunks++;
    largestChunk = Math.max(largestChunk, chunk.length);
    if (bytes >= nextGc) {
      gc();
      nextGc += options.gcEveryBytes;
    }
    peak = Math.max(peak, process.memoryUsage.rss());
  }
}
console.log(JSON.stringify({ sha256: hash.digest('hex'), bytes, chunks, largestChunk, rssGrowth: peak - baseline, retained: retained.length }));
`;

interface Made {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

interface ReadStats {
  readonly sha256: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly largestChunk: number;
}

interface MeasuredRead extends ReadStats {
  /** Peak resident memory above the level just before the read. */
  readonly rssGrowth: number;
  readonly retained: number;
}

interface MeasureOptions {
  /** Collect garbage every this many payload bytes, so only live memory counts. */
  readonly gcEveryBytes?: number;
  /** Keep a copy of every chunk, as a reader that buffers the payload would (the control case). */
  readonly retain?: boolean;
}

/** Reads every payload in this process and reports the chunks it saw. */
async function drain(reader: ArtifactReader): Promise<ReadStats> {
  const hash = createHash('sha256');
  let bytes = 0;
  let chunks = 0;
  let largestChunk = 0;
  for await (const payload of reader.payloads()) {
    for await (const chunk of payload) {
      hash.update(chunk);
      bytes += chunk.length;
      chunks++;
      largestChunk = Math.max(largestChunk, chunk.length);
    }
  }
  return { sha256: hash.digest('hex'), bytes, chunks, largestChunk };
}

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const execNode = promisify(execFile);
const run = (args: readonly string[]) => execNode(process.execPath, args);

describe('streaming artifact reads', () => {
  let cleanup: () => Promise<void>;
  let trust: TrustedRoot;
  let rootPath: string;
  let made: Record<string, Made>;
  const indexUrl = new URL('../../src/index.js', import.meta.url).href;

  before(async () => {
    const scratch = await scratchDir();
    cleanup = scratch.cleanup;
    const specs: [string, number, Compression][] = [
      ['none-20', 20, 'none'],
      ['gzip-20', 20, 'gzip'],
      ['zstd-20', 20, 'zstd'],
      ['gzip-64', 64, 'gzip'],
      ['zstd-64', 64, 'zstd'],
    ];
    const { stdout } = await run(['--input-type=module', '-e', MAKE_ARTIFACTS, indexUrl, scratch.dir, JSON.stringify(specs)]);
    made = JSON.parse(stdout) as Record<string, Made>;
    const release = makeKey();
    const rootBytes = await makeRootBytes({ rootKeys: [makeKey()], releaseKeys: [release] });
    rootPath = join(scratch.dir, 'root.json');
    await writeFile(rootPath, rootBytes);
    trust = verifyRoot(parseRoot(rootBytes), { now: NOW });
    // Signing in place reads only the head.
    for (const artifact of Object.values(made)) await signArtifactFile(artifact.path, release.signer);
  });
  after(() => cleanup());

  function artifact(label: string): Made {
    const found = made[label];
    assert.ok(found, `no artifact ${label}`);
    return found;
  }

  async function measure(target: Made, options: MeasureOptions): Promise<MeasuredRead> {
    const args = [
      '--expose-gc',
      '--input-type=module',
      '-e',
      MEASURE_READ,
      indexUrl,
      target.path,
      rootPath,
      NOW.toISOString(),
      JSON.stringify(options),
    ];
    const stats = JSON.parse((await run(args)).stdout) as MeasuredRead;
    assert.equal(stats.bytes, target.bytes);
    assert.equal(stats.sha256, target.sha256);
    return stats;
  }

  for (const compression of ['zstd', 'gzip'] as const) {
    test(`holds no more than ${mib(RSS_BUDGET)} of live memory while reading a 64 MiB ${compression} payload`, async (t) => {
      const target = artifact(`${compression}-64`);
      const stats = await measure(target, { gcEveryBytes: 4 * MiB });
      t.diagnostic(`RSS growth ${mib(stats.rssGrowth)} over ${stats.chunks} chunks`);
      assert.ok(stats.rssGrowth < RSS_BUDGET, `RSS grew by ${mib(stats.rssGrowth)} while reading ${mib(target.bytes)}`);
    });
  }

  // gzip sits nearest the budget (32-35 MiB measured): gunzip in compression.ts allocates a fresh
  // 64 KiB Buffer per output chunk, and this garbage waits for V8's external-memory trigger.
  for (const compression of ['zstd', 'gzip'] as const) {
    test(`keeps RSS growth under ${mib(RSS_BUDGET)} while reading a 64 MiB ${compression} payload with the collector left alone`, async (t) => {
      const target = artifact(`${compression}-64`);
      const stats = await measure(target, {});
      t.diagnostic(`RSS growth ${mib(stats.rssGrowth)} over ${stats.chunks} chunks`);
      assert.ok(stats.rssGrowth < RSS_BUDGET, `RSS grew by ${mib(stats.rssGrowth)} while reading ${mib(target.bytes)}`);
    });
  }

  test('the memory measurement notices a reader that keeps the payload (control)', async (t) => {
    const stats = await measure(artifact('zstd-64'), { gcEveryBytes: 4 * MiB, retain: true });
    t.diagnostic(`RSS growth ${mib(stats.rssGrowth)} when every chunk is kept`);
    assert.equal(stats.retained, stats.chunks);
    assert.ok(stats.rssGrowth > 56 * MiB, `keeping 64 MiB grew RSS by only ${mib(stats.rssGrowth)}: the measurement cannot see retention`);
  });

  for (const compression of ['none', 'gzip', 'zstd'] as const) {
    test(`yields a 20 MiB ${compression} payload in chunks no larger than the source chunk or codec buffer`, async () => {
      const target = artifact(`${compression}-20`);
      const stats = await drain(await openArtifactFile(target.path, trust));
      assert.equal(stats.sha256, target.sha256);
      assert.ok(stats.largestChunk <= DEFAULT_CHUNK_BYTES, `a ${mib(stats.largestChunk)} chunk was yielded`);
      assert.ok(stats.chunks >= target.bytes / DEFAULT_CHUNK_BYTES);

      // With a smaller source chunk, stored bytes come through no larger than it.
      const small = 256 * 1024;
      const source = await FileChunkSource.open(target.path, { chunkBytes: small });
      const smallStats = await drain(await ArtifactReader.open(source, { trust }));
      assert.equal(smallStats.sha256, target.sha256);
      const bound = compression === 'none' ? small : DEFAULT_CHUNK_BYTES;
      assert.ok(smallStats.largestChunk <= bound, `a ${mib(smallStats.largestChunk)} chunk was yielded from ${mib(small)} reads`);
    });
  }

  test('pulls the source no further than one chunk ahead of the payload bytes it has yielded', async () => {
    const target = artifact('none-20');
    const chunkBytes = 256 * 1024;
    const inner = await FileChunkSource.open(target.path, { chunkBytes });
    let delivered = 0;
    const counting: ChunkSource = {
      async next() {
        const chunk = await inner.next();
        delivered += chunk?.length ?? 0;
        return chunk;
      },
      close: () => inner.close(),
    };
    const reader = await ArtifactReader.open(counting, { trust });
    const head = reader.layout.payloadsOffset + 512;
    let yielded = 0;
    let worstLead = 0;
    for await (const payload of reader.payloads()) {
      for await (const chunk of payload) {
        yielded += chunk.length;
        worstLead = Math.max(worstLead, delivered - head - yielded);
      }
    }
    assert.equal(yielded, target.bytes);
    assert.ok(worstLead <= chunkBytes, `the reader pulled ${mib(worstLead)} ahead of what it yielded`);
  });
});

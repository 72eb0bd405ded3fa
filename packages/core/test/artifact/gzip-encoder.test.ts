import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  bufferSource,
  GZIP_BLOCK_BYTES,
  type GzipEngineName,
  gzipBlocks,
  gzipEngine,
  storedMemberBytes,
  writeStoredMember,
} from '../../src/index.js';
import { makeArtifact, makeKey, makeTrustedRoot, readAll, scratchDir } from '../support/fixtures.js';

// CI builds @slipway/libdeflate (see .ci/run); elsewhere its absence is a skip, not a failure.
const native = await gzipEngine('auto');
const engines: GzipEngineName[] = native.name === 'libdeflate' ? ['zlib', 'libdeflate'] : ['zlib'];
if (process.env.CI === 'true') {
  test('the libdeflate engine is built in CI', () => assert.equal(native.name, 'libdeflate'));
}

/** Content that mixes a compressible run, a random block and a tail shorter than a block. */
function mixedContent(): Buffer {
  return Buffer.concat([Buffer.alloc(GZIP_BLOCK_BYTES + 12_345, 'gateway '), randomBytes(GZIP_BLOCK_BYTES), randomBytes(777)]);
}

async function gzipAll(content: Buffer, engine: GzipEngineName, level = 6, chunkBytes = 256 * 1024): Promise<Buffer> {
  const source = bufferSource(content, chunkBytes);
  async function* chunks() {
    for (let c = await source.next(); c !== null; c = await source.next()) yield c;
  }
  const parts: Buffer[] = [];
  for await (const out of gzipBlocks(chunks(), level, await gzipEngine(engine))) parts.push(Buffer.from(out));
  return Buffer.concat(parts);
}

describe('gzip encoder', () => {
  for (const engine of engines) {
    test(`${engine}: any gunzip reads the members back as the original content`, async () => {
      const content = mixedContent();
      const gz = await gzipAll(content, engine);
      assert.ok(gunzipSync(gz).equals(content));
      assert.ok(gz.length < content.length, 'the compressible block shrank');
    });

    test(`${engine}: an incompressible block is stored, costing only its framing`, async () => {
      const content = randomBytes(GZIP_BLOCK_BYTES);
      // Chunks of a whole block, as the artifact writer reads them: one member.
      const gz = await gzipAll(content, engine, 6, GZIP_BLOCK_BYTES);
      assert.ok(gunzipSync(gz).equals(content));
      assert.ok(gz.length <= storedMemberBytes(content.length) + 16, `${gz.length} bytes for ${content.length}`);
    });

    test(`${engine}: level 0 stores everything and an empty payload is one empty member`, async () => {
      const content = Buffer.alloc(300_000, 'a');
      const stored = await gzipAll(content, engine, 0);
      assert.ok(gunzipSync(stored).equals(content));
      assert.ok(stored.length > content.length);
      assert.equal(gunzipSync(await gzipAll(Buffer.alloc(0), engine)).length, 0);
    });

    test(`${engine}: an artifact compressed with it verifies and reads back`, async () => {
      const { dir, cleanup } = await scratchDir();
      try {
        const release = makeKey();
        const trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [release] });
        const content = mixedContent();
        const artifact = await makeArtifact(dir, { contents: [content], compression: 'gzip', gzipEngine: engine, signers: [release] });
        const [read] = await readAll(artifact.bytes, trust);
        assert.ok(read?.equals(content));
      } finally {
        await cleanup();
      }
    });
  }

  test('a hand-written stored member is valid gzip, across the 64 KiB stored-block limit', () => {
    const crc = (data: Uint8Array) => {
      // CRC-32 (IEEE), bitwise: the reference the zlib.crc32 fast path must agree with.
      let c = ~0;
      for (const byte of data) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
      }
      return ~c >>> 0;
    };
    for (const length of [0, 1, 65_535, 65_536, 200_000]) {
      const data = randomBytes(length);
      const member = writeStoredMember(data, Buffer.alloc(storedMemberBytes(length)), crc);
      assert.equal(member.length, storedMemberBytes(length));
      assert.ok(gunzipSync(member).equals(data), `length ${length}`);
    }
  });

  test('asking for libdeflate gives libdeflate, or fails where it is not built instead of silently using zlib', async () => {
    if (native.name === 'libdeflate') assert.equal((await gzipEngine('libdeflate')).name, 'libdeflate');
    else await assert.rejects(gzipEngine('libdeflate'));
    assert.equal((await gzipEngine('zlib')).name, 'zlib');
  });
});

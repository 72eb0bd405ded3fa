import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { COMPRESSIONS, GENERATABLE_KEY_TYPES, type TrustedRoot } from '../../src/index.js';
import { makeArtifact, makeKey, makeTrustedRoot, readAll, scratchDir } from '../support/fixtures.js';

describe('artifact round trips', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await scratchDir()));
  after(() => cleanup());

  for (const type of GENERATABLE_KEY_TYPES) {
    for (const compression of COMPRESSIONS) {
      test(`an artifact signed with ${type} and compressed with ${compression} reads back byte for byte`, async () => {
        const release = makeKey(type);
        const trust: TrustedRoot = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [release] });
        // One compressible and one random payload, crossing several 64 KiB source chunks.
        const contents = [Buffer.alloc(300_000, 'slipway '), randomBytes(200_001)];
        const artifact = await makeArtifact(dir, { contents, compression, signers: [release] });
        const read = await readAll(artifact.bytes, trust);
        assert.equal(read.length, 2);
        assert.ok(read[0]?.equals(contents[0] as Buffer));
        assert.ok(read[1]?.equals(contents[1] as Buffer));
      });
    }
  }
});

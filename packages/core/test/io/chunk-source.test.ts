import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FileChunkSource } from '../../src/index.js';
import { scratchDir } from '../support/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await scratchDir()));
after(() => cleanup());

for (const ringSize of [2, 3, 6]) {
  test(`a ring of ${ringSize} keeps each chunk intact for ${ringSize - 2} further reads and returns the whole file`, async () => {
    const content = randomBytes(10 * 1000 + 7);
    const path = join(dir, `ring-${ringSize}.bin`);
    await writeFile(path, content);
    const source = await FileChunkSource.open(path, { chunkBytes: 1000, ringSize });
    const held: { view: Uint8Array; copy: Buffer }[] = [];
    const parts: Buffer[] = [];
    for (let chunk = await source.next(); chunk !== null; chunk = await source.next()) {
      assert.ok(chunk.length <= 1000);
      parts.push(Buffer.from(chunk));
      held.push({ view: chunk, copy: Buffer.from(chunk) });
      // Let the read-ahead land, then every chunk handed out in the last ringSize - 2 calls must still read as it did.
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const h of held.slice(-(ringSize - 1))) assert.ok(Buffer.from(h.view).equals(h.copy));
    }
    await source.close();
    assert.ok(Buffer.concat(parts).equals(content));
  });
}

test('refuses a ring smaller than double buffering', async () => {
  await assert.rejects(FileChunkSource.open(join(dir, 'any'), { ringSize: 1 }), RangeError);
});

test('names a missing file with SLW_IO_NOT_FOUND', async () => {
  await assert.rejects(FileChunkSource.open(join(dir, 'missing.bin')), { code: 'SLW_IO_NOT_FOUND' });
});

import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { test } from 'node:test';
import { BackgroundWriteback } from '../../src/io/writeback.js';

/** A stand-in for the two FileHandle methods the writeback calls, recording what happened. */
function fakeHandle(failDatasync = false) {
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const handle = {
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        calls.push('datasync');
        release = () => (failDatasync ? reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : resolve());
      }),
    sync: async () => {
      calls.push('sync');
    },
  };
  return { handle: handle as unknown as FileHandle, calls, release: () => release() };
}

test('starts a background flush once enough bytes are written, and never two at once', async () => {
  const { handle, calls, release } = fakeHandle();
  const writeback = new BackgroundWriteback(handle, 100);
  writeback.wrote(99);
  assert.deepEqual(calls, []);
  writeback.wrote(1);
  writeback.wrote(500); // the first flush is still running
  assert.deepEqual(calls, ['datasync']);
  release();
  await writeback.finish();
  assert.deepEqual(calls, ['datasync', 'sync']);
});

test('a failed background flush fails finish() instead of going unnoticed', async () => {
  const { handle, calls, release } = fakeHandle(true);
  const writeback = new BackgroundWriteback(handle, 10);
  writeback.wrote(10);
  release();
  await assert.rejects(writeback.finish(), { code: 'EIO' });
  assert.deepEqual(calls, ['datasync'], 'no final sync claims durability after a failed flush');
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import zstd from 'zstd-napi/binding.js';
import { decode, SlipwayError } from '../../src/index.js';

/** Compresses with an explicit window, streaming (no pledged size), so the frame header declares it. */
function compressWithWindowLog(content: Buffer, windowLog: number): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.windowLog, windowLog);
  const out = Buffer.alloc(content.length + 1024 * 1024);
  let [remaining, produced] = [1, 0];
  let written = 0;
  [, produced] = cctx.compressStream2(out, content, zstd.EndDirective.continue);
  written += produced;
  while (remaining !== 0) {
    [remaining, produced] = cctx.compressStream2(out.subarray(written), Buffer.alloc(0), zstd.EndDirective.end);
    written += produced;
  }
  return out.subarray(0, written);
}

async function decodeAll(frame: Buffer): Promise<Buffer> {
  async function* stored() {
    yield frame;
  }
  const parts: Buffer[] = [];
  const corrupt = (cause: unknown) => new SlipwayError('SLW_ARTIFACT_PAYLOAD_CORRUPT', 'corrupt', { cause });
  for await (const out of decode('zstd', stored(), corrupt)) parts.push(Buffer.from(out));
  return Buffer.concat(parts);
}

test('decodes a zstd frame whose window is within the 8 MiB cap', async () => {
  const content = Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(2 * 1024 * 1024, 'x')]);
  assert.ok((await decodeAll(compressWithWindowLog(content, 23))).equals(content));
});

test('refuses a zstd frame that asks for a 128 MiB window (decoder memory bomb)', async () => {
  const content = Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(2 * 1024 * 1024, 'x')]);
  await assert.rejects(decodeAll(compressWithWindowLog(content, 27)), { code: 'SLW_ARTIFACT_PAYLOAD_CORRUPT' });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '@slipway/core';
import { DeploymentLog, LOG_CORRUPT, LOG_FULL_MARKER, LOG_RECORD_OVERHEAD } from '../src/logs/deployment-log.js';
import { LOG_KEY_BYTES, LogKey, type LogKeySource } from '../src/logs/log-key.js';

const staticKey = (key: Buffer = randomBytes(LOG_KEY_BYTES)): LogKeySource => ({ key: async () => key });
const isCorrupt = (err: SlipwayError) => err.code === LOG_CORRUPT;

/** Writes lines to a fresh log and closes it, as the agent does before a restart. */
async function written(dir: string, id: string, keys: LogKeySource, lines: string[]): Promise<DeploymentLog> {
  const log = new DeploymentLog(dir, id, 1, keys);
  for (const line of lines) await log.append(line);
  await log.close();
  return log;
}

/** Byte ranges of each record in a log file, parsed from the length prefixes. */
function records(file: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < file.length; ) {
    const end = at + LOG_RECORD_OVERHEAD + file.readUInt32BE(at);
    parts.push(file.subarray(at, end));
    at = end;
  }
  return parts;
}

describe('the encrypted deployment log', () => {
  let root: string;
  let n = 0;
  const freshDir = async () => {
    const dir = join(root, `case-${++n}`);
    await mkdir(dir);
    return dir;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-logs-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  test('the file on disk holds no plaintext, is 0600, and reads back with its key', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['installing gateway-os 2.0 secret-token-xyz', 'rebooting\n']);
    const onDisk = await readFile(log.path);
    assert.equal(onDisk.includes('secret-token-xyz'), false);
    assert.equal(onDisk.includes('rebooting'), false);
    assert.equal((await stat(log.path)).mode & 0o777, 0o600);
    assert.equal(await new DeploymentLog(dir, 'd-1', 1, keys).read(), 'installing gateway-os 2.0 secret-token-xyz\nrebooting\n');
  });

  test('a log read with another key fails with the corrupt-log code', async () => {
    const dir = await freshDir();
    await written(dir, 'd-1', staticKey(), ['hello']);
    await assert.rejects(new DeploymentLog(dir, 'd-1', 1, staticKey()).read(), isCorrupt);
  });

  test('a record torn by a power cut is ignored, the earlier lines stay readable, and the next append follows them', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['first', 'second', 'third, cut mid-write']);
    const size = (await stat(log.path)).size;
    await truncate(log.path, size - 10);
    assert.equal(await new DeploymentLog(dir, 'd-1', 1, keys).read(), 'first\nsecond\n');
    // A cut inside the length prefix of a record is a torn record too.
    const lengths = records(await readFile(log.path)).map((r) => r.length);
    await truncate(log.path, (lengths[0] ?? 0) + 2);
    assert.equal(await new DeploymentLog(dir, 'd-1', 1, keys).read(), 'first\n');

    const restarted = new DeploymentLog(dir, 'd-1', 1, keys);
    await restarted.append('after the restart');
    await restarted.close();
    assert.equal(await restarted.read(), 'first\nafter the restart\n');
  });

  test('a flipped byte in an earlier record is detected', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['first line', 'second line']);
    const file = await readFile(log.path);
    const at = 4 + 12 + 3; // past the length prefix and the nonce: inside the first record's ciphertext
    file.writeUInt8(file.readUInt8(at) ^ 0x01, at);
    await writeFile(log.path, file);
    await assert.rejects(log.read(), isCorrupt);
  });

  test('swapped records are detected', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['one', 'two', 'three']);
    const [a, b, c] = records(await readFile(log.path));
    assert.ok(a && b && c);
    await writeFile(log.path, Buffer.concat([b, a, c]));
    await assert.rejects(log.read(), isCorrupt);
  });

  test('a record removed from the middle is detected', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['one', 'two', 'three']);
    const [a, , c] = records(await readFile(log.path));
    assert.ok(a && c);
    await writeFile(log.path, Buffer.concat([a, c]));
    await assert.rejects(log.read(), isCorrupt);
  });

  test("a log moved to another deployment's or attempt's name is detected", async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['from deployment d-1 attempt 1']);
    const otherDeployment = new DeploymentLog(dir, 'd-2', 1, keys);
    const otherAttempt = new DeploymentLog(dir, 'd-1', 2, keys);
    await copyFile(log.path, otherDeployment.path);
    await copyFile(log.path, otherAttempt.path);
    await assert.rejects(otherDeployment.read(), isCorrupt);
    await assert.rejects(otherAttempt.read(), isCorrupt);
  });

  test('a length prefix inflated past the limit is reported as corruption, not taken for a torn record', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = await written(dir, 'd-1', keys, ['one', 'two']);
    const file = await readFile(log.path);
    file.writeUInt32BE(0xffffff00, 0);
    await writeFile(log.path, file);
    await assert.rejects(log.read(), isCorrupt);
  });

  test('list finds the logs waiting for upload after a restart, and delete removes a log for good', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const first = await written(dir, '6f1c2a4e-93b1-4d57-8a42-0c7f1e2d3b4a', keys, ['a']);
    const retry = new DeploymentLog(dir, '6f1c2a4e-93b1-4d57-8a42-0c7f1e2d3b4a', 2, keys);
    await retry.append('b');
    await writeFile(join(dir, '.stray.tmp'), 'not a log');
    assert.deepEqual(
      (await DeploymentLog.list(dir)).map((l) => [l.deploymentId, l.attempt]),
      [
        ['6f1c2a4e-93b1-4d57-8a42-0c7f1e2d3b4a', 1],
        ['6f1c2a4e-93b1-4d57-8a42-0c7f1e2d3b4a', 2],
      ],
    );
    await first.delete();
    await retry.delete();
    await assert.rejects(stat(first.path), { code: 'ENOENT' });
    assert.deepEqual(await DeploymentLog.list(dir), []);
    assert.deepEqual(await DeploymentLog.list(join(dir, 'absent')), []);
    await first.delete(); // deleting twice is not an error
  });

  test('a deployment id that could escape the log directory is refused', () => {
    assert.throws(() => new DeploymentLog('/var/lib/slipway/logs', '../update', 1, staticKey()), { code: 'SLW_DEPLOYMENT_INVALID' });
    assert.throws(() => new DeploymentLog('/var/lib/slipway/logs', 'd-1', 0, staticKey()), { code: 'SLW_DEPLOYMENT_INVALID' });
  });

  test('the size cap holds: later lines are dropped and one marker line says so, also across a restart', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const maxBytes = 1000;
    const line = `${'x'.repeat(99)}\n`;
    const log = new DeploymentLog(dir, 'd-1', 1, keys, { maxBytes });
    for (let i = 0; i < 20; i++) await log.append(line);
    await log.close();
    const restarted = new DeploymentLog(dir, 'd-1', 1, keys, { maxBytes });
    await restarted.append('a short line that would still fit');
    await restarted.close();

    const text = await restarted.read();
    assert.ok(Buffer.byteLength(text) <= maxBytes);
    const kept = Math.floor((maxBytes - Buffer.byteLength(LOG_FULL_MARKER)) / line.length);
    assert.equal(text, line.repeat(kept) + LOG_FULL_MARKER);
  });

  test('a single line larger than the whole cap is dropped, not split', async () => {
    const dir = await freshDir();
    const keys = staticKey();
    const log = new DeploymentLog(dir, 'd-1', 1, keys, { maxBytes: 200 });
    await log.append('before');
    await log.append('y'.repeat(500));
    await log.close();
    assert.equal(await log.read(), `before\n${LOG_FULL_MARKER}`);
  });

  test('many tiny lines cannot fill the disk past twice the cap', async () => {
    const dir = await freshDir();
    const maxBytes = 1000;
    const log = new DeploymentLog(dir, 'd-1', 1, staticKey(), { maxBytes });
    for (let i = 0; i < 200; i++) await log.append('');
    await log.close();
    assert.ok((await stat(log.path)).size <= 2 * maxBytes + 2 * LOG_RECORD_OVERHEAD);
    assert.ok((await log.read()).endsWith(LOG_FULL_MARKER));
  });
});

describe('the log key', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-log-key-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('a missing key file is created with 32 random bytes and mode 0600, and reused afterwards', async () => {
    const path = join(dir, 'keys', 'log.key');
    const key = await new LogKey(path).key();
    assert.equal(key.length, LOG_KEY_BYTES);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readFile(path), key);
    assert.deepEqual(await new LogKey(path).key(), key);
  });

  test('a key file readable by group or others is refused', async () => {
    const path = join(dir, 'leaky.key');
    await writeFile(path, randomBytes(LOG_KEY_BYTES), { mode: 0o600 });
    for (const mode of [0o640, 0o604, 0o644]) {
      await chmod(path, mode);
      await assert.rejects(new LogKey(path).key(), { code: 'SLW_KEY_PERMISSIONS' });
    }
    await chmod(path, 0o600);
    assert.equal((await new LogKey(path).key()).length, LOG_KEY_BYTES);
  });

  test('a key file of the wrong length is refused', async () => {
    const path = join(dir, 'short.key');
    await writeFile(path, randomBytes(16), { mode: 0o600 });
    await assert.rejects(new LogKey(path).key(), { code: 'SLW_KEY_INVALID' });
  });

  test('a log written with the file key cannot be read without it', async () => {
    const logs = join(dir, 'logs');
    const keys = new LogKey(join(dir, 'device-log.key'));
    const log = new DeploymentLog(logs, 'd-9', 1, keys);
    await log.append('flashing slot B');
    await log.close();
    assert.equal(await new DeploymentLog(logs, 'd-9', 1, new LogKey(join(dir, 'device-log.key'))).read(), 'flashing slot B\n');
    await assert.rejects(new DeploymentLog(logs, 'd-9', 1, new LogKey(join(dir, 'another.key'))).read(), isCorrupt);
  });
});

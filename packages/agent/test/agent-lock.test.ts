import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '@slipway/core';
import { acquireAgentLock } from '../src/runtime/agent-lock.js';

describe('one agent process per device', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-lock-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('the lock holds the pid, and a release removes it', async () => {
    const release = acquireAgentLock(dir);
    assert.equal((await readFile(join(dir, 'agent.lock'), 'utf8')).trim(), String(process.pid));
    release();
    await assert.rejects(readFile(join(dir, 'agent.lock')));
  });

  test('a lock held by a live process is refused as busy', async () => {
    const other = spawn('sleep', ['30']);
    try {
      await writeFile(join(dir, 'agent.lock'), `${other.pid}\n`);
      assert.throws(
        () => acquireAgentLock(dir),
        (err: SlipwayError) => err.code === 'SLW_AGENT_BUSY' && err.message.includes(String(other.pid)),
      );
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.on('exit', resolve));
    }
  });

  test('a lock left by a process that died (a power cut) is taken over', async () => {
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    await writeFile(join(dir, 'agent.lock'), `${gone.pid}\n`);
    const release = acquireAgentLock(dir);
    assert.equal((await readFile(join(dir, 'agent.lock'), 'utf8')).trim(), String(process.pid));
    release();
  });
});

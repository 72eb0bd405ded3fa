import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runHooks, stateScripts } from '../src/hooks/hook-runner.js';

/** A killed process may linger as a zombie until its new parent reaps it: dead all the same. */
async function liveState(pid: number): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? 'gone or a zombie' : `running (${state})`;
  } catch {
    return 'gone or a zombie';
  }
}

describe('integrator hooks: sanity checks and state scripts', () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-hooks-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const hooks = async (scripts: Record<string, string | { body: string; executable: false }>) => {
    const dir = join(root, String(++n));
    await mkdir(dir);
    for (const [name, script] of Object.entries(scripts)) {
      const body = typeof script === 'string' ? script : script.body;
      await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
      if (typeof script === 'string') await chmod(join(dir, name), 0o755);
    }
    return dir;
  };

  test('every hook runs in name order and all passing means ok', async () => {
    const dir = await hooks({ '20-app': `echo app >> ${root}/order-${n + 1}`, '10-net': `echo net >> ${root}/order-${n + 1}` });
    const result = await runHooks(dir, { timeoutMs: 5000 });
    assert.deepEqual(result, { ok: true, ran: ['10-net', '20-app'] });
    assert.equal(await readFile(join(root, `order-${n}`), 'utf8'), 'net\napp\n');
  });

  test('the first failing hook stops the run and is named with its exit code and output', async () => {
    const dir = await hooks({ '10-ok': 'true', '20-app': 'echo "app did not start" >&2; exit 3', '30-never': 'exit 0' });
    const lines: string[] = [];
    const result = await runHooks(dir, { timeoutMs: 5000, log: (l) => lines.push(l) });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ran, ['10-ok', '20-app']);
    if (!result.ok) assert.deepEqual(result.failed, { hook: '20-app', how: 'exit 3', output: 'app did not start\n' });
    assert.ok(lines.some((l) => l.startsWith('hook 20-app: exit 3')));
  });

  test('a hook past its time is killed with what it started, and counts as failed', async () => {
    const dir = await hooks({ '10-hang': `sleep 30 & echo $! > ${root}/child-${n + 1}; wait` });
    const started = Date.now();
    const result = await runHooks(dir, { timeoutMs: 300 });
    assert.ok(Date.now() - started < 5000);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.failed.how, 'timeout');
    const child = Number(await readFile(join(root, `child-${n}`), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await liveState(child), 'gone or a zombie', "the hook's own child was killed too");
  });

  test('no directory means no hooks; non-executable files are skipped', async () => {
    assert.deepEqual(await runHooks(join(root, 'absent'), { timeoutMs: 1000 }), { ok: true, ran: [] });
    const dir = await hooks({ '10-notes': { body: 'exit 1', executable: false }, '20-ok': 'true' });
    assert.deepEqual(await runHooks(dir, { timeoutMs: 1000 }), { ok: true, ran: ['20-ok'] });
  });

  test('state scripts are selected by state and phase; hooks get the environment given', async () => {
    const dir = await hooks({
      ArtifactInstall_Enter_10_stop: `echo "$SLIPWAY_STATE" > ${root}/env-${n + 1}`,
      ArtifactInstall_Leave_10_start: 'exit 1',
      Download_Enter_05: 'exit 1',
      ArtifactInstall_Enter_1x: 'exit 1',
    });
    const result = await runHooks(dir, {
      timeoutMs: 1000,
      select: stateScripts('ArtifactInstall', 'Enter'),
      env: { SLIPWAY_STATE: 'installing' },
    });
    assert.deepEqual(result, { ok: true, ran: ['ArtifactInstall_Enter_10_stop'] });
    assert.equal(await readFile(join(root, `env-${n}`), 'utf8'), 'installing\n');
  });
});

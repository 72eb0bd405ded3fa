import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IDLE, type UpdateRecord } from '../src/state/state-store.js';
import { STATES } from '../src/state/transitions.js';
import type { Effect, WorkingState } from '../src/state/update-machine.js';
import { withStateScripts } from '../src/update/state-scripts.js';

describe('state scripts around the update states', () => {
  let dir: string;
  let trace: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-state-scripts-'));
    trace = join(dir, 'trace');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const script = async (name: string, exit = 0) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\necho "${name} $MENDER_STATE $SLIPWAY_ARTIFACT_NAME" >> '${trace}'\nexit ${exit}\n`);
    await chmod(path, 0o755);
  };
  const effects = (calls: string[], fail = false): Record<WorkingState, Effect> => {
    const effect =
      (state: string): Effect =>
      async () => {
        calls.push(state);
        if (fail) throw new Error(`${state} broke`);
        return { event: 'downloaded' };
      };
    const all = STATES.filter((state) => state !== 'idle');
    return Object.fromEntries(all.map((s) => [s, effect(s)])) as Record<WorkingState, Effect>;
  };
  const record: UpdateRecord = {
    ...IDLE,
    state: 'downloading',
    job: {
      deploymentId: null,
      attempt: 1,
      source: 'x',
      artifact: { name: 'app', version: '2', sha256: null, securityVersion: null, payloadType: null },
    },
  };
  const remember = async () => {};

  test('Enter runs before the state, Leave after it, with Mender state names and the artifact in the environment', async () => {
    await rm(trace, { force: true });
    await script('Download_Enter_10');
    await script('Download_Leave_10');
    await script('ArtifactInstall_Enter_10');
    const calls: string[] = [];
    const wrapped = withStateScripts(effects(calls), { dir, timeoutMs: 5000 });
    await wrapped.downloading(record, remember);
    assert.deepEqual(calls, ['downloading']);
    assert.equal(await readFile(trace, 'utf8'), 'Download_Enter_10 Download app\nDownload_Leave_10 Download app\n');
    await rm(join(dir, 'Download_Enter_10'));
    await rm(join(dir, 'Download_Leave_10'));
    await rm(join(dir, 'ArtifactInstall_Enter_10'));
  });

  test('a failing Leave script fails the state before the commit; in the rollback it is only logged', async () => {
    await script('ArtifactInstall_Leave_20', 1);
    await script('ArtifactRollback_Leave_20', 1);
    const lines: string[] = [];
    const wrapped = withStateScripts(effects([]), { dir, timeoutMs: 5000, log: (l) => lines.push(l) });
    await assert.rejects(wrapped.installing(record, remember), /SLW_INSTALLER_FAILED|ArtifactInstall_Leave_20/);
    const result = await wrapped.rollingBack(record, remember);
    assert.equal(result.event, 'downloaded');
    assert.ok(lines.some((l) => l.includes('ArtifactRollback_Leave_20') && l.includes('the update goes on')));
    await rm(join(dir, 'ArtifactInstall_Leave_20'));
    await rm(join(dir, 'ArtifactRollback_Leave_20'));
  });

  test('a state that fails runs its Error scripts and keeps its own error', async () => {
    await rm(trace, { force: true });
    await script('ArtifactCommit_Error_10');
    const wrapped = withStateScripts(effects([], true), { dir, timeoutMs: 5000 });
    await assert.rejects(wrapped.committing(record, remember), /committing broke/);
    assert.equal(await readFile(trace, 'utf8'), 'ArtifactCommit_Error_10 ArtifactCommit app\n');
  });
});

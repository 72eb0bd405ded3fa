// `npm run demo` end to end: the script starts a server, five real agents and two rollouts, and
// must tell its story by itself: the canary rolls back the bad release and the rollout halts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Compiled to packages/agent/dist/test/demo.test.js: the repository root is four levels up.
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const TIMEOUT_MS = 180_000;

function runDemo(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/demo.mjs'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    // SIGINT: the demo's own cleanup stops its agents and server and deletes its directory.
    const timer = setTimeout(() => child.kill('SIGINT'), TIMEOUT_MS - 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('the demo rolls out a release in three phases, then the canary rolls back a bad one and the rollout halts', {
  timeout: TIMEOUT_MS,
}, async () => {
  const { code, output } = await runDemo();
  assert.equal(code, 0, output);
  assert.match(output, /release 1\.1 runs on every gateway/, output);
  assert.match(output, /phase 1: GW-0001 ROLLED BACK by itself \(sanity hook 50-app-healthy failed/, output);
  assert.match(output, /halted: phase 1 reached 1 failed device/, output);
  assert.match(output, /^rollback on the canary: GW-0001 rolled back 1\.2 by itself/m, output);
  assert.match(output, /^rollout halted: 1\.2 stopped after the canary/m, output);
  // The summary table: every gateway ends on 1.1, the canary after its rollback.
  for (const serial of ['GW-0001', 'GW-0002', 'GW-0003', 'GW-0004', 'GW-0005'])
    assert.match(output, new RegExp(`^${serial}\\s+[ab]\\s+1\\.1\\s`, 'm'), output);
  assert.match(output, /^GW-0001 .*rolled back to 1\.1 \(canary\)/m, output);
});

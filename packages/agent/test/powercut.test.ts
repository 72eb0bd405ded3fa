// Power cuts at random instants of real updates (issue 6): the bundled agent against the real
// server, slots as files, U-Boot's redundant environment written by the real fw_setenv. Larger
// runs: `npm run test:powercut -- --runs 1000 [--seed N]`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { formatHistogram, runPowercut, summaryLine } from './support/powercut-harness.js';

const IN_CI = process.env.CI === 'true';
const installed = (tool: string) => spawnSync(tool, ['--help'], { stdio: 'ignore' }).error === undefined;
const AVAILABLE = installed('fw_printenv') && installed('fw_setenv');
const MIN_KILLS = 200;

// In CI a missing tool fails the test (the proof must run there); elsewhere it is skipped.
test(`${MIN_KILLS} and more power cuts in downloads, slot writes, bootloader switches, health gates, commits and rollbacks brick no device and leave none inconsistent`, {
  skip: AVAILABLE || IN_CI ? false : 'fw_setenv is not installed (libubootenv-tool)',
  timeout: 280_000,
}, async () => {
  assert.ok(AVAILABLE, 'fw_setenv and fw_printenv are required in CI: install libubootenv-tool');
  const result = await runPowercut({ runs: 70, minKills: MIN_KILLS, log: (line) => console.log(line) });
  console.log(`seed ${result.seed}: ${summaryLine(result)} in ${Math.round(result.durationMs / 1000)} s`);
  console.log(`kills: ${result.kills} (${result.missedKills} not made: their run ended or went another way first)`);
  console.log(`killed in (state persisted at the cut):\n${formatHistogram(result.killsByState)}`);
  console.log(`killed in (how far the state had got):\n${formatHistogram(result.killsByPhase)}`);
  console.log(`outcomes:\n${formatHistogram(result.outcomes)}`);
  const failures = result.failures.join('\n');
  assert.equal(result.bricked, 0, failures);
  assert.equal(result.inconsistent, 0, failures);
  assert.ok(result.kills >= MIN_KILLS, `only ${result.kills} kills`);
  // Every phase was hit: a harness whose kills stopped landing would otherwise pass for nothing.
  const hit = (...states: string[]) => states.some((state) => (result.killsByState[state] ?? 0) > 0);
  for (const phase of [['downloading'], ['installing'], ['rebooting'], ['verifying'], ['committing'], ['rollingBack', 'rollbackRebooting']])
    assert.ok(hit(...phase), `no kill landed in ${phase.join(' or ')}`);
});

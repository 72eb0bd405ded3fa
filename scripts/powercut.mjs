#!/usr/bin/env node
// Power-cut fault injection at scale (issue 6): `npm run test:powercut -- --runs 1000 [--seed N]`.
// The npm script builds first; this runs the compiled harness (real agent processes, the real
// server, the real fw_setenv) and exits 1 when any device ended bricked or inconsistent.
// A failure names its seed and run: `--seed N --run K` runs that one again.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node scripts/powercut.mjs [--runs N] [--seed N] [--run K] [--concurrency N]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1000' },
      seed: { type: 'string' },
      run: { type: 'string' },
      concurrency: { type: 'string' },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
const integer = (name, text) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} takes a whole number, not ${text}\n${USAGE}`);
    process.exit(2);
  }
  return value;
};
const runs = integer('runs', values.runs);
for (const tool of ['fw_printenv', 'fw_setenv']) {
  if (spawnSync(tool, ['--help'], { stdio: 'ignore' }).error) {
    console.error(`${tool} is not installed: install libubootenv-tool (the harness writes U-Boot's environment with it)`);
    process.exit(2);
  }
}

const { formatHistogram, runPowercut, summaryLine } = await import('../packages/agent/dist/test/support/powercut-harness.js');
const started = Date.now();
const result = await runPowercut({
  runs,
  ...(values.seed !== undefined ? { seed: integer('seed', values.seed) } : {}),
  ...(values.run !== undefined ? { only: integer('run', values.run) } : {}),
  ...(values.concurrency !== undefined ? { concurrency: integer('concurrency', values.concurrency) } : {}),
  log: (line) => console.error(line),
  onRun: (so) => {
    if (so.runs % 50 === 0)
      console.log(`${summaryLine(so)}, ${so.kills} kills (${Math.round((Date.now() - started) / 1000)} s, seed ${so.seed})`);
  },
});
console.log(summaryLine(result));
console.log(
  `kills: ${result.kills} (${result.missedKills} not made: their run ended or went another way first), seed ${result.seed}, ${Math.round(result.durationMs / 1000)} s`,
);
console.log(`killed in (state persisted at the cut):\n${formatHistogram(result.killsByState)}`);
console.log(`killed in (how far the state had got):\n${formatHistogram(result.killsByPhase)}`);
console.log(`outcomes:\n${formatHistogram(result.outcomes)}`);
for (const failure of result.failures) console.log(`FAILED ${failure}`);
process.exit(result.bricked + result.inconsistent > 0 ? 1 : 0);

// Command-line and environment options of the artifact benchmark.
import { resolve } from 'node:path';

export const USAGE = `Usage: node bench/artifact.bench.mjs [options]   (or: npm run bench:artifact -- [options])

Times the real slipway CLI (create, sign, verify) against openssl dgst -sha256 and
mender-artifact on the same payloads, in one run, and checks the performance goals.

Options:
  --mib N          payload size in MiB (default 512; env SLIPWAY_BENCH_MIB)
  --small-mib N    second, smaller payload for the "RSS does not grow" check (default 64)
  --runs N         timed runs per command; the median is reported (default 3; env SLIPWAY_BENCH_RUNS)
  --no-mixed       skip the compressible (mixed) payload
  --json           print the results as JSON on stdout instead of the table
  --cli PATH       the slipway entry point to run (default packages/cli/dist/slipway.mjs, the
                   bundled bin; env SLIPWAY_BENCH_CLI)
  --work-dir DIR   where work files and artifact-results.json go (default bench/.work)
  --timeout S      kill any single command that runs longer than S seconds (default 600)
  --keep           keep the work files (for debugging); they are deleted by default
  --help           show this help

Environment: SLIPWAY_BENCH_RSS=launcher measures peak RSS with the in-process node launcher
even where GNU time exists (to test that fallback).

Exit status: 0 when every measurement ran (goals may still be missed: see PASS/FAIL),
1 on an error, 2 on bad options, 130/143 when interrupted.`;

export class UsageError extends Error {}

function positiveInt(raw, name, min = 1) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseOptions(argv, env, repoRoot) {
  const o = {
    mib: env.SLIPWAY_BENCH_MIB ? positiveInt(env.SLIPWAY_BENCH_MIB, 'SLIPWAY_BENCH_MIB') : 512,
    smallMib: 64,
    runs: env.SLIPWAY_BENCH_RUNS ? positiveInt(env.SLIPWAY_BENCH_RUNS, 'SLIPWAY_BENCH_RUNS') : 3,
    mixed: true,
    json: false,
    cli: env.SLIPWAY_BENCH_CLI ? resolve(env.SLIPWAY_BENCH_CLI) : resolve(repoRoot, 'packages/cli/dist/slipway.mjs'),
    workDir: resolve(repoRoot, 'bench/.work'),
    timeoutS: 600,
    keep: false,
    help: false,
  };
  let smallGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--mib':
        o.mib = positiveInt(value(), '--mib');
        break;
      case '--small-mib':
        o.smallMib = positiveInt(value(), '--small-mib');
        smallGiven = true;
        break;
      case '--runs':
        o.runs = positiveInt(value(), '--runs');
        break;
      case '--no-mixed':
        o.mixed = false;
        break;
      case '--json':
        o.json = true;
        break;
      case '--cli':
        o.cli = resolve(value());
        break;
      case '--work-dir':
        o.workDir = resolve(value());
        break;
      case '--timeout':
        o.timeoutS = positiveInt(value(), '--timeout');
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  // The small payload must be smaller than the main one for the growth check to mean anything.
  if (!smallGiven && o.smallMib >= o.mib) o.smallMib = Math.max(1, Math.floor(o.mib / 8));
  if (o.smallMib >= o.mib) throw new UsageError(`--small-mib (${o.smallMib}) must be below --mib (${o.mib})`);
  return o;
}

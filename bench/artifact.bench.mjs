#!/usr/bin/env node
// Artifact benchmark: times the real `slipway artifact create | sign | verify` subprocesses against
// `openssl dgst -sha256` and `mender-artifact write/validate` on the same payloads, in one run so
// the ratios hold on a noisy machine, and checks the performance goals. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { detectRssMethod, killRunning, runMeasured, runQuiet, which } from './lib/measure.mjs';
import { ensureMenderArtifact, probeMender, writeArgs, writeMenderKey } from './lib/mender.mjs';
import { parseOptions, USAGE, UsageError } from './lib/options.mjs';
import { generatePayload, primePageCache, warmFile } from './lib/payload.mjs';
import { fixed, max, median, table } from './lib/report.mjs';

const GOAL_VERIFY_VS_OPENSSL = 0.85;
const GOAL_CREATE_SIGN_VS_MENDER = 1.0;
const GOAL_PEAK_RSS_MIB = 100;
/** Allowed peak-RSS difference between the small and the large payload: noise, not growth. */
const RSS_GROWTH_TOLERANCE_MIB = 8;
const COMPRESSIONS = ['none', 'gzip', 'zstd'];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

let opts;
try {
  opts = parseOptions(process.argv.slice(2), process.env, repoRoot);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${err.message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const runDir = join(opts.workDir, `run-${process.pid}`);
const resultsPath = join(opts.workDir, 'artifact-results.json');
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  killRunning();
  if (opts.keep) log(`work files kept in ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
}
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(signal, () => {
    log(`${signal}: stopping and cleaning up`);
    cleanup();
    process.exit(code);
  });
}
process.on('exit', cleanup);

/** key -> { seconds: [], rssMiB: [] }, one entry per timed run. */
const measurements = {};
const sizes = {};

function record(key, result) {
  measurements[key] ??= { seconds: [], rssMiB: [] };
  measurements[key].seconds.push(result.seconds);
  measurements[key].rssMiB.push(result.rssMiB);
}

function summary(key) {
  const m = measurements[key];
  if (!m) return null;
  const mid = median(m.seconds);
  const spread = mid > 0 ? (Math.max(...m.seconds) - Math.min(...m.seconds)) / mid : 0;
  return { seconds: mid, spread, peakRssMiB: max(m.rssMiB), runs: m.seconds.length };
}

async function main() {
  const started = performance.now();
  if (!existsSync(opts.cli)) throw new Error(`${opts.cli} does not exist: build first (npm run build)`);
  removeStaleRuns();
  mkdirSync(runDir, { recursive: true });
  const rel = (p) => relative(repoRoot, p) || '.';
  const rss = detectRssMethod(runDir, process.env.SLIPWAY_BENCH_RSS);
  const openssl = which('openssl');
  const syncBin = which('sync');
  log(`payload ${opts.mib} MiB (small ${opts.smallMib} MiB), ${opts.runs} runs each, median reported; CLI ${rel(opts.cli)}`);
  log(`peak RSS via ${rss.method === 'gnu-time' ? `${rss.bin} -f %M` : 'in-process launcher (process.resourceUsage)'}`);
  if (!openssl) log('openssl not found: the openssl dgst baseline is skipped');

  const flush = () => {
    // Start every timed write with no dirty pages left by the previous command.
    if (syncBin) spawnSync(syncBin, [], { stdio: 'ignore' });
  };
  const slw = (args) => ({ cmd: process.execPath, args: [opts.cli, ...args], isNodeCli: true });
  const rssFile = join(runDir, 'rss.txt');
  const time = async (key, spec) => {
    const result = await runMeasured(rss, { ...spec, cwd: runDir, timeoutS: opts.timeoutS, rssFile });
    record(key, result);
    log(
      `  ${key.padEnd(34)} ${result.seconds.toFixed(3).padStart(8)} s${result.rssMiB === null ? '' : `  ${result.rssMiB.toFixed(1).padStart(6)} MiB`}`,
    );
    return result;
  };
  const cli = (args) => runQuiet(process.execPath, [opts.cli, ...args], { cwd: runDir });

  // --- baselines available on this machine -------------------------------------------------
  let mender = null;
  const menderFound = ensureMenderArtifact(log);
  if (!menderFound.path) log(`SKIP mender-artifact baseline: ${menderFound.note}`);
  else {
    try {
      const keys = writeMenderKey(runDir);
      const probe = probeMender(menderFound.path, runDir, keys);
      mender = { bin: menderFound.path, keys, ...probe, note: menderFound.note };
      log(
        `${probe.version}; --compression ${probe.compressions.join('|')}; zstd: ${probe.zstd ?? 'not supported'}; signing -k: ${probe.signing ? 'yes' : 'no'}`,
      );
      if (probe.problem) log(`mender-artifact: ${probe.problem}`);
    } catch (err) {
      log(`SKIP mender-artifact baseline: ${err.message}`);
    }
  }

  // --- keys and trust root, made with the CLI ----------------------------------------------
  cli(['key', 'generate', '--type', 'ecdsa-p256', '--out', 'root']);
  cli(['key', 'generate', '--type', 'ecdsa-p256', '--out', 'release']);
  cli(['trust', 'init', '--root-key', 'root.pub', '--release-key', 'release.pub', '--out', 'root.json']);
  cli(['trust', 'sign', 'root.json', '--key', 'root.key']);
  const releaseKey = join(runDir, 'release.key');
  const rootJson = join(runDir, 'root.json');

  // --- payloads -------------------------------------------------------------------------------
  const payloads = { random: { mib: opts.mib }, small: { mib: opts.smallMib } };
  if (opts.mixed) payloads.mixed = { mib: opts.mib };
  for (const [kind, p] of Object.entries(payloads)) {
    p.path = join(runDir, `payload-${kind}.bin`);
    const t = performance.now();
    generatePayload(p.path, p.mib, kind === 'mixed' ? 'mixed' : 'random');
    log(`generated ${kind} payload: ${p.mib} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  flush();
  for (const p of Object.values(payloads)) warmFile(p.path);
  {
    const t = performance.now();
    const mib = 2 * opts.mib + 256; // our artifact + mender's output + slack
    primePageCache(join(runDir, 'prime.bin'), mib);
    log(`primed ${mib} MiB of page-cache memory in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  // Untimed warm-up of every binary (loads them into the page cache too).
  cli(['--help']);
  if (openssl) runQuiet(openssl, ['version']);
  if (mender) runQuiet(mender.bin, ['--version']);

  // --- measurements ---------------------------------------------------------------------------
  for (let rep = 1; rep <= opts.runs; rep++) await time('startup/help', slw(['--help']));
  // The same CLI unbundled (a few hundred ES modules), for comparison with the bundled bin.
  const unbundled = resolve(repoRoot, 'packages/cli/dist/src/main.js');
  if (existsSync(unbundled) && unbundled !== opts.cli) {
    for (let rep = 1; rep <= opts.runs; rep++) {
      await time('startup/help-unbundled', { cmd: process.execPath, args: [unbundled, '--help'], isNodeCli: true });
    }
  }

  const menderName = (compression) => (compression === 'zstd' ? mender?.zstd : compression);
  const variants = [
    ...COMPRESSIONS.map((compression) => ({ kind: 'random', compression })),
    ...(opts.mixed ? ['gzip', 'zstd'].map((compression) => ({ kind: 'mixed', compression })) : []),
    ...COMPRESSIONS.map((compression) => ({ kind: 'small', compression })),
  ];
  for (const { kind, compression } of variants) {
    const payload = payloads[kind].path;
    const artifact = join(runDir, `A-${kind}-${compression}.slw`);
    const ours = `${kind}/${compression}`;
    // Mender runs for this payload and (its name for) this compression; zstd falls back to no run.
    const mc = mender && kind !== 'small' ? menderName(compression) : null;
    const theirs = `${kind}/mender-${mc}`;
    const mout = join(runDir, `M-${kind}-${mc}.mender`);
    log(`${kind} payload (${payloads[kind].mib} MiB), ${compression}:`);
    for (let rep = 1; rep <= opts.runs; rep++) {
      // Interleaved per run, ours then theirs, so drift on a shared machine hits both alike.
      rmSync(artifact, { force: true });
      flush();
      const createArgs = [
        'artifact',
        'create',
        '--name',
        'bench',
        '--version',
        '1.0.0',
        '--device-type',
        'gw',
        '--payload',
        payload,
        '--compression',
        compression,
        '--out',
        artifact,
      ];
      await time(`${ours}/create`, slw(createArgs));
      sizes[ours] = statSync(artifact).size;
      await time(`${ours}/sign`, slw(['artifact', 'sign', artifact, '--key', releaseKey]));
      await time(`${ours}/verify`, slw(['artifact', 'verify', artifact, '--trust', rootJson]));
      if (openssl && compression === 'none') await time(`${ours}/openssl-dgst`, { cmd: openssl, args: ['dgst', '-sha256', artifact] });
      if (kind !== 'small') {
        // Signing while creating: one command, like mender-artifact write -k (the goal's measure).
        rmSync(artifact, { force: true });
        flush();
        await time(`${ours}/create-key`, slw([...createArgs, '--key', releaseKey]));
      }
      if (mc) {
        rmSync(mout, { force: true });
        flush();
        await time(`${theirs}/write`, { cmd: mender.bin, args: writeArgs(payload, mc, mout, null) });
        sizes[theirs] = statSync(mout).size;
        if (mender.signing) {
          rmSync(mout, { force: true });
          flush();
          await time(`${theirs}/write-k`, { cmd: mender.bin, args: writeArgs(payload, mc, mout, mender.keys.key) });
          // mender-artifact does not fsync; this is what making its output durable costs.
          if (syncBin) await time(`${theirs}/sync-after-write`, { cmd: syncBin, args: [] });
          if (mender.validate) await time(`${theirs}/validate-k`, { cmd: mender.bin, args: ['validate', mout, '-k', mender.keys.pub] });
        }
        rmSync(mout, { force: true });
      }
    }
    rmSync(artifact, { force: true });
    // The per-run create+sign time: the two subprocesses a release pipeline runs back to back.
    const c = measurements[`${ours}/create`];
    const s = measurements[`${ours}/sign`];
    measurements[`${ours}/create+sign`] = {
      seconds: c.seconds.map((v, i) => v + s.seconds[i]),
      rssMiB: c.rssMiB.map((v, i) => max([v, s.rssMiB[i]])),
    };
    if (measurements[`${theirs}/write-k`] && measurements[`${theirs}/sync-after-write`]) {
      const w = measurements[`${theirs}/write-k`];
      measurements[`${theirs}/write-k+sync`] = {
        seconds: w.seconds.map((v, i) => v + measurements[`${theirs}/sync-after-write`].seconds[i]),
        rssMiB: w.rssMiB,
      };
    }
  }

  // --- rows -----------------------------------------------------------------------------------
  const rows = [];
  const goals = [];
  const addRow = ({ operation, kind, ours, baselineName, baseline, goal }) => {
    const o = summary(ours);
    const b = baseline ? summary(baseline) : null;
    const mib = kind ? payloads[kind].mib : null;
    const ratio = o && b ? b.seconds / o.seconds : null;
    const row = {
      operation,
      payload: kind ? `${kind === 'small' ? 'random' : kind} ${mib} MiB` : '-',
      oursKey: ours,
      oursSeconds: o?.seconds ?? null,
      baselineName: b ? baselineName : baselineName ? `${baselineName} (not run)` : null,
      baselineKey: b ? baseline : null,
      baselineSeconds: b?.seconds ?? null,
      ratio,
      throughputMiBps: o && mib ? mib / o.seconds : null,
      baselineThroughputMiBps: b && mib ? mib / b.seconds : null,
      peakRssMiB: o?.peakRssMiB ?? null,
      baselinePeakRssMiB: b?.peakRssMiB ?? null,
      /** (max - min) / median over the runs, the larger of ours and the baseline's: how noisy the row is. */
      spread: o ? Math.max(o.spread, b?.spread ?? 0) : null,
      goal: null,
    };
    if (goal && ratio !== null) {
      row.goal = ratio >= goal.min ? 'PASS' : 'FAIL';
      goals.push({ goal: goal.text, target: `>= ${goal.min.toFixed(2)}x`, measured: ratio, status: row.goal, detail: goal.detail(row) });
    } else if (goal) {
      goals.push({ goal: goal.text, target: `>= ${goal.min.toFixed(2)}x`, measured: null, status: 'SKIP', detail: 'baseline not run' });
    }
    rows.push(row);
  };
  addRow({ operation: 'start-up: slipway --help', kind: null, ours: 'startup/help' });
  if (measurements['startup/help-unbundled']) {
    addRow({ operation: 'start-up: dist/src/main.js --help', kind: null, ours: 'startup/help-unbundled' });
  }
  const kinds = ['random', ...(opts.mixed ? ['mixed'] : []), 'small'];
  for (const kind of kinds) {
    for (const compression of kind === 'mixed' ? ['gzip', 'zstd'] : COMPRESSIONS) {
      const ours = `${kind}/${compression}`;
      if (!measurements[`${ours}/create`]) continue;
      const mc = mender && kind !== 'small' ? menderName(compression) : null;
      // zstd without a mender zstd: compare with mender's gzip, for information only.
      const sameCodec = mc !== null && mc !== undefined;
      const fallback = !sameCodec && mender && kind !== 'small' ? 'gzip' : null;
      const theirs = sameCodec ? `${kind}/mender-${mc}` : fallback ? `${kind}/mender-${fallback}` : null;
      const mlabel = sameCodec ? mc : fallback ? `${fallback} (no zstd)` : null;
      const tag = `${kind} ${compression}`;
      if (kind !== 'small') {
        addRow({
          operation: `create ${compression}`,
          kind,
          ours: `${ours}/create`,
          baselineName: theirs ? `mender write ${mlabel}` : null,
          baseline: theirs ? `${theirs}/write` : null,
        });
        // The goal compares one command that creates a signed artifact with one that does the same.
        addRow({
          operation: `create --key ${compression} (one command)`,
          kind,
          ours: `${ours}/create-key`,
          baselineName: theirs ? `mender write -k ${mlabel}` : null,
          baseline: theirs ? `${theirs}/write-k` : null,
          goal:
            sameCodec || (!mender && compression !== 'zstd')
              ? {
                  text: `create+sign (artifact create --key) no slower than mender-artifact write -k (${tag})`,
                  min: GOAL_CREATE_SIGN_VS_MENDER,
                  detail: (r) => `${fixed(r.oursSeconds)} s vs ${fixed(r.baselineSeconds)} s`,
                }
              : undefined,
        });
        addRow({
          operation: `create, then sign ${compression} (two commands)`,
          kind,
          ours: `${ours}/create+sign`,
          baselineName: theirs ? `mender write -k ${mlabel}` : null,
          baseline: theirs ? `${theirs}/write-k` : null,
        });
        if (theirs && measurements[`${theirs}/write-k+sync`]) {
          addRow({
            operation: `create --key ${compression} (durable)`,
            kind,
            ours: `${ours}/create-key`,
            baselineName: `mender write -k ${mlabel} +sync`,
            baseline: `${theirs}/write-k+sync`,
          });
        }
      } else {
        addRow({ operation: `create ${compression}`, kind, ours: `${ours}/create` });
      }
      addRow({ operation: `sign ${compression}`, kind, ours: `${ours}/sign` });
      if (compression === 'none' && openssl) {
        addRow({
          operation: 'verify none',
          kind,
          ours: `${ours}/verify`,
          baselineName: 'openssl dgst -sha256',
          baseline: `${ours}/openssl-dgst`,
          goal:
            kind === 'random'
              ? {
                  text: `verify throughput >= ${GOAL_VERIFY_VS_OPENSSL}x openssl dgst -sha256 (${tag})`,
                  min: GOAL_VERIFY_VS_OPENSSL,
                  detail: (r) => `${fixed(r.throughputMiBps, 0)} vs ${fixed(r.baselineThroughputMiBps, 0)} MiB/s`,
                }
              : undefined,
        });
      }
      const validate = theirs && sameCodec && measurements[`${theirs}/validate-k`] ? `${theirs}/validate-k` : null;
      if (compression !== 'none' || !openssl || validate) {
        addRow({
          operation: `verify ${compression}`,
          kind,
          ours: `${ours}/verify`,
          baselineName: validate ? `mender validate -k ${mc}` : null,
          baseline: validate,
        });
      }
    }
  }

  // --- memory goals ---------------------------------------------------------------------------
  const ourKeys = Object.keys(measurements).filter((k) => /\/(create|create-key|sign|verify|help)$/.test(k));
  let worst = { key: null, mib: 0 };
  for (const key of ourKeys) {
    const peak = summary(key).peakRssMiB;
    if (peak !== null && peak > worst.mib) worst = { key, mib: peak };
  }
  if (worst.key) {
    goals.push({
      goal: `peak RSS < ${GOAL_PEAK_RSS_MIB} MiB for every slipway subprocess`,
      target: `< ${GOAL_PEAK_RSS_MIB} MiB`,
      measured: worst.mib,
      status: worst.mib < GOAL_PEAK_RSS_MIB ? 'PASS' : 'FAIL',
      detail: `highest ${fixed(worst.mib, 1)} MiB (${worst.key}); over the limit: ${
        ourKeys
          .filter((k) => (summary(k).peakRssMiB ?? 0) >= GOAL_PEAK_RSS_MIB)
          .map((k) => `${k} ${fixed(summary(k).peakRssMiB, 1)}`)
          .join(', ') || 'none'
      }`,
    });
  } else {
    goals.push({ goal: `peak RSS < ${GOAL_PEAK_RSS_MIB} MiB`, target: '', measured: null, status: 'SKIP', detail: 'no RSS measurement' });
  }
  const growth = [];
  for (const op of ['verify', 'create', 'sign']) {
    for (const compression of COMPRESSIONS) {
      const small = summary(`small/${compression}/${op}`)?.peakRssMiB ?? null;
      const large = summary(`random/${compression}/${op}`)?.peakRssMiB ?? null;
      if (small === null || large === null) continue;
      growth.push({
        op,
        compression,
        smallMib: opts.smallMib,
        largeMib: opts.mib,
        smallRssMiB: small,
        largeRssMiB: large,
        growthMiB: large - small,
      });
    }
  }
  const verifyGrowth = growth.filter((g) => g.op === 'verify');
  if (verifyGrowth.length) {
    const worstGrowth = Math.max(...verifyGrowth.map((g) => g.growthMiB));
    goals.push({
      goal: `verify peak RSS does not grow with payload size (${opts.smallMib} -> ${opts.mib} MiB)`,
      target: `<= +${RSS_GROWTH_TOLERANCE_MIB} MiB`,
      measured: worstGrowth,
      status: worstGrowth <= RSS_GROWTH_TOLERANCE_MIB ? 'PASS' : 'FAIL',
      detail: verifyGrowth.map((g) => `${g.compression} ${fixed(g.smallRssMiB, 1)} -> ${fixed(g.largeRssMiB, 1)} MiB`).join(', '),
    });
  }

  const results = {
    generatedAt: new Date().toISOString(),
    totalSeconds: (performance.now() - started) / 1000,
    options: { mib: opts.mib, smallMib: opts.smallMib, runs: opts.runs, mixed: opts.mixed, cli: rel(opts.cli) },
    machine: {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      kernel: release(),
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() || null,
    },
    tools: {
      rss: rss.method,
      gzipEngine: await gzipEngineName(),
      openssl: openssl ? runQuiet(openssl, ['version']).trim() : null,
      mender: mender
        ? {
            version: mender.version,
            compressions: mender.compressions,
            zstd: mender.zstd,
            signing: mender.signing,
            validate: mender.validate,
            note: mender.note,
          }
        : { skipped: menderFound.note ?? 'probe failed' },
    },
    sizes,
    rows,
    rssGrowth: growth,
    goals,
    measurements,
  };
  mkdirSync(opts.workDir, { recursive: true });
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${render(results)}\n`);
  log(`results written to ${rel(resultsPath)}; total ${results.totalSeconds.toFixed(0)} s`);
}

/** The gzip engine the CLI will use: libdeflate when its optional binding is built, else zlib. */
async function gzipEngineName() {
  try {
    const { libdeflate } = await import('@slipway/libdeflate');
    return libdeflate ? 'libdeflate' : 'zlib (libdeflate binding not built)';
  } catch {
    return 'zlib (@slipway/libdeflate not installed)';
  }
}

/** Deletes run-PID work dirs left behind by a bench that was killed outright (SIGKILL, power loss). */
function removeStaleRuns() {
  if (!existsSync(opts.workDir)) return;
  for (const name of readdirSync(opts.workDir)) {
    const pid = /^run-(\d+)$/.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(pid), 0);
    } catch (err) {
      alive = err.code === 'EPERM';
    }
    if (!alive) {
      log(`removing stale work dir ${name}`);
      rmSync(join(opts.workDir, name), { recursive: true, force: true });
    }
  }
}

function render(results) {
  const out = [];
  const { machine, tools, options } = results;
  out.push('');
  out.push(
    `Slipway artifact benchmark: ${options.mib} MiB payload, median of ${options.runs} runs per command (commit ${machine.commit ?? '?'})`,
  );
  out.push(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${tools.openssl ?? 'no openssl'}`);
  out.push(`mender-artifact: ${tools.mender.version ?? `skipped (${tools.mender.skipped})`}; peak RSS via ${tools.rss}`);
  out.push(`our gzip engine: ${tools.gzipEngine}`);
  out.push('ratio = baseline seconds / our seconds (= our MiB/s / baseline MiB/s): above 1 we are faster');
  out.push("spread = (slowest - fastest) / median run, ours or the baseline's, whichever is larger; peak RSS = highest of the runs");
  out.push('');
  const headers = [
    'operation',
    'payload',
    'ours s',
    'baseline',
    'base s',
    'ratio',
    'MiB/s',
    'peak RSS MiB',
    'base RSS MiB',
    'spread',
    'goal',
  ];
  const body = results.rows.map((r) => [
    r.operation,
    r.payload,
    fixed(r.oursSeconds, 3),
    r.baselineName ?? '-',
    fixed(r.baselineSeconds, 3),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
    fixed(r.throughputMiBps, 0),
    fixed(r.peakRssMiB, 1),
    fixed(r.baselinePeakRssMiB, 1),
    r.spread === null ? '-' : `${Math.round(r.spread * 100)}%`,
    r.goal ?? '',
  ]);
  out.push(table(headers, body, new Set([2, 4, 5, 6, 7, 8, 9])));
  if (results.rssGrowth.length) {
    out.push('');
    out.push(`Peak RSS against payload size (MiB; growth over +${RSS_GROWTH_TOLERANCE_MIB} MiB counts as growing)`);
    out.push(
      table(
        ['operation', `${options.smallMib} MiB payload`, `${options.mib} MiB payload`, 'growth'],
        results.rssGrowth.map((g) => [
          `${g.op} ${g.compression}`,
          fixed(g.smallRssMiB, 1),
          fixed(g.largeRssMiB, 1),
          `${g.growthMiB >= 0 ? '+' : ''}${fixed(g.growthMiB, 1)}`,
        ]),
        new Set([1, 2, 3]),
      ),
    );
  }
  const sizeRows = Object.entries(results.sizes).map(([k, bytes]) => [k, fixed(bytes / 1048576, 1)]);
  if (sizeRows.length) {
    out.push('');
    out.push('Artifact sizes (MiB)');
    out.push(table(['artifact', 'MiB'], sizeRows, new Set([1])));
  }
  out.push('');
  out.push('Goals');
  for (const g of results.goals)
    out.push(`  ${g.status.padEnd(4)}  ${g.goal}: ${g.measured === null ? '-' : fixed(g.measured, 2)} (target ${g.target}; ${g.detail})`);
  return out.join('\n');
}

try {
  await main();
} catch (err) {
  log(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  cleanup();
}

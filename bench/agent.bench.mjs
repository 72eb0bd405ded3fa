#!/usr/bin/env node
// Agent install benchmark: the real bundled slipway-agent (`--once`) installs a rootfs artifact
// (1 GiB by default; random payload, compression none) from our server over loopback HTTPS into a
// slot file, fsynced, and switches the bootloader; against, in the same run, the raw pipeline
// `curl | tee >(openssl dgst -sha256) > slot; sync` on the same download link with a device token.
// Prints MiB/s, the ratio, the agent's peak RSS at two artifact sizes, and PASS/FAIL for the
// issue's goals. Bounded in time; every process is stopped and every file removed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateKeyPair } from '@slipway/core';
import { SimulatedDevice } from '@slipway/testkit';
import { AGENT_BUNDLE, prepareAgentDevice, runAgentOnce } from './lib/agent-process.mjs';
import { offeredDownloadLink } from './lib/deployment-link.mjs';
import { which } from './lib/measure.mjs';
import { generatePayload } from './lib/payload.mjs';
import { fixed, median, table } from './lib/report.mjs';
import { call, log, repo, sha256File, slipway, startOurs, stopAll, work } from './lib/server-harness.mjs';

const MIB = Number(process.env.SLIPWAY_BENCH_MIB ?? 1024);
/** The second size, only to show whether the agent's peak RSS grows with the artifact. */
const SMALL_MIB = Number(process.env.SLIPWAY_BENCH_SMALL_MIB ?? 256);
/** Pairs (baseline, agent) at the main size; at least 2, as the issue asks. */
const RUNS = Math.max(2, Number(process.env.SLIPWAY_BENCH_RUNS ?? 3));
const SMALL_RUNS = 2;
const GOAL_RATIO = 0.9;
const GOAL_RSS_MIB = 64;
/** "Not growing with artifact size": peak RSS at MIB minus peak RSS at SMALL_MIB. */
const GOAL_RSS_GROWTH_MIB = 8;
/** The whole run, artifact creation included. */
const LIMIT_S = Number(process.env.SLIPWAY_BENCH_TIMEOUT ?? 1200);
/** One install; far above what 1 GiB needs on loopback, low enough to end a stalled one. */
const RUN_TIMEOUT_S = Math.max(120, Math.ceil(MIB / 4));
const NAME = 'bench-os';
const DEVICE_TYPE = 'bench-gw';
/** The raw pipeline, verbatim but for the variables (set in its environment, never quoted into it). */
const PIPELINE = `curl -s --cacert "$CA" -H "authorization: Bearer $TOKEN" "$URL" | tee >(openssl dgst -sha256 >/dev/null) > "$SLOT"; sync`;
const MiB = 1024 * 1024;
/** Extra node flags for the agent, space-separated (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), to profile it. */
/** Another build of the agent to measure (e.g. one made from the previous sources, to compare). */
const BUNDLE = process.env.SLIPWAY_BENCH_AGENT_BUNDLE ? resolve(process.env.SLIPWAY_BENCH_AGENT_BUNDLE) : AGENT_BUNDLE;
const AGENT_NODE_ARGS = (process.env.SLIPWAY_BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);

const pipelines = new Set();
process.on('exit', () => {
  for (const child of pipelines) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Like the other benchmarks: apt-get a missing tool, once, and fail clearly if that does not work. */
function ensureTool(command, pkg) {
  if (which(command)) return;
  log(`${command} is missing: apt-get install -y ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', env, timeout: 300_000 });
  if (!which(command)) throw new Error(`${command} is not installed and apt-get could not install ${pkg}`);
}

/** Untimed, before every timed run: no run pays for the writeback of the one before. */
function sync() {
  const r = spawnSync('sync', [], { timeout: 300_000 });
  if (r.status !== 0) throw new Error(`sync: exit ${r.status ?? r.signal}`);
}

/** Keys and a signed trust root on the server; returns the root.json a device's golden image holds. */
function trustRoot(server) {
  const dir = join(work, 'keys');
  mkdirSync(dir);
  slipway(server, ['key', 'generate', '--type', 'ecdsa-p256', '--out', join(dir, 'root')]);
  slipway(server, ['key', 'generate', '--type', 'ecdsa-p256', '--out', join(dir, 'release')]);
  const root = join(dir, 'root.json');
  slipway(server, ['trust', 'init', '--root-key', join(dir, 'root.pub'), '--release-key', join(dir, 'release.pub'), '--out', root]);
  slipway(server, ['trust', 'sign', root, '--key', join(dir, 'root.key')]);
  slipway(server, ['trust', 'upload', root]);
  return { root, releaseKey: join(dir, 'release.key') };
}

/** A signed rootfs artifact of a `mib` MiB random payload, uploaded; the local files are deleted. */
async function release(server, releaseKey, mib) {
  const dir = join(work, `release-${mib}`);
  mkdirSync(dir);
  const payload = join(dir, 'rootfs.img');
  const artifact = join(dir, 'A.slw');
  const version = `1.0.0-${mib}mib`;
  log(`generating a ${mib} MiB random payload and the signed rootfs artifact ${NAME} ${version} (compression none)`);
  generatePayload(payload, mib, 'random');
  const payloadSha256 = await sha256File(payload);
  slipway(server, [
    'artifact',
    'create',
    '--name',
    NAME,
    '--version',
    version,
    '--device-type',
    DEVICE_TYPE,
    '--type',
    'rootfs',
    '--payload',
    payload,
    '--compression',
    'none',
    '--key',
    releaseKey,
    '--out',
    artifact,
  ]);
  rmSync(payload);
  const size = statSync(artifact).size;
  const sha256 = await sha256File(artifact);
  slipway(server, ['artifacts', 'upload', artifact]);
  rmSync(dir, { recursive: true });
  return { mib, version, size, sha256, payloadBytes: mib * MiB, payloadSha256 };
}

/**
 * Preauthorizes a device key, then, as that device (a testkit SimulatedDevice with the same key):
 * authenticates, reports its type, and, once a deployment of `rel` targets it, asks
 * GET /deployments/next as the agent does. Resolves the download link and the device token.
 */
async function deployTo(server, rel, { identity, privatePem, publicKeyPem }) {
  const imported = await call(
    `${server.url}/api/management/v1/devices/preauthorize`,
    server.ca,
    'POST',
    { devices: [{ identity, publicKey: publicKeyPem }] },
    server.session,
  );
  if (imported.status !== 200) throw new Error(`preauthorize: ${imported.status} ${JSON.stringify(imported.json)}`);
  const device = new SimulatedDevice({ server: server.url, ca: server.ca, identity, privateKeyPem: privatePem });
  try {
    const auth = await device.authenticate();
    if (auth.status !== 200) throw new Error(`authenticate: ${auth.status} ${JSON.stringify(auth.body)}`);
    const inventory = await device.reportInventory({ device_type: DEVICE_TYPE });
    if (inventory.status !== 204) throw new Error(`inventory: ${inventory.status} ${JSON.stringify(inventory.body)}`);
    const me = await device.checkIn();
    if (me.status !== 200) throw new Error(`check-in: ${me.status} ${JSON.stringify(me.body)}`);
    const url = await offeredDownloadLink(server, device, me.body.id, `${NAME}@${rel.version}`, rel);
    return { url, token: device.bearer };
  } finally {
    device.close();
  }
}

/** The raw pipeline into `slot`, timed from the spawn of bash to its exit (after `sync`). */
function pipeline({ ca, url, token, slot }) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    // Its own process group, so a timeout kills curl, tee and openssl with it.
    const child = spawn('bash', ['-c', PIPELINE], {
      env: { PATH: process.env.PATH, CA: ca, URL: url, TOKEN: token, SLOT: slot },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    pipelines.add(child);
    let err = '';
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4096);
    });
    const limit = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, RUN_TIMEOUT_S * 1000);
    child.on('error', (e) => reject(new Error(`cannot run bash: ${e.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      pipelines.delete(child);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`the raw pipeline: exit ${code ?? signal} (limit ${RUN_TIMEOUT_S} s)\n  ${err.trim()}`));
      resolvePromise(seconds);
    });
  });
}

async function baselineRun(rel, link, ca) {
  const slot = join(work, 'baseline-slot.img');
  rmSync(slot, { force: true });
  sync();
  const seconds = await pipeline({ ca, ...link, slot });
  const size = statSync(slot).size;
  rmSync(slot);
  if (size !== rel.size) throw new Error(`the raw pipeline wrote ${size} bytes; the artifact is ${rel.size} (check the link and token)`);
  return seconds;
}

let devices = 0;
async function agentRun(server, rel, trust, { checkContent }) {
  const serial = `BENCH-AGENT-${++devices}`;
  const dir = join(work, serial);
  const device = prepareAgentDevice(dir, {
    serial,
    deviceType: DEVICE_TYPE,
    serverUrl: server.url,
    caFile: join(server.data, 'tls', 'ca.pem'),
    trustRootFile: trust.root,
    factoryBytes: Buffer.from('factory image\n'),
  });
  await deployTo(server, rel, device);
  sync();
  const r = await runAgentOnce(device, { timeoutS: RUN_TIMEOUT_S, nodeArgs: AGENT_NODE_ARGS, bundle: BUNDLE });
  // Untimed checks that the agent did the whole job.
  const env = JSON.parse(readFileSync(device.envFile, 'utf8'));
  if (env.slipway_slot !== 'b' || env.upgrade_available !== '1')
    throw new Error(`the agent asked for a reboot but the bootloader environment is ${JSON.stringify(env)}`);
  const size = statSync(device.slots.b).size;
  if (size !== rel.payloadBytes) throw new Error(`slot b holds ${size} bytes; the payload is ${rel.payloadBytes}`);
  if (checkContent && (await sha256File(device.slots.b)) !== rel.payloadSha256) throw new Error('slot b does not hold the payload');
  rmSync(dir, { recursive: true });
  return r;
}

/** Alternating pairs at one size: baseline, agent, baseline, agent… */
async function measure(server, rel, trust, runs) {
  const linkDevice = generateKeyPair('ed25519');
  const link = await deployTo(server, rel, {
    identity: { serial: `BENCH-LINK-${rel.mib}` },
    privatePem: linkDevice.privatePem,
    publicKeyPem: linkDevice.publicKey.pem,
  });
  const ca = join(server.data, 'tls', 'ca.pem');
  const base = [];
  const agent = [];
  for (let run = 1; run <= runs; run++) {
    const seconds = await baselineRun(rel, link, ca);
    base.push(rel.size / MiB / seconds);
    log(`${rel.mib} MiB run ${run}: raw pipeline ${fixed(rel.size / MiB / seconds, 0).padStart(5)} MiB/s (${fixed(seconds, 2)} s)`);
    const r = await agentRun(server, rel, trust, { checkContent: run === 1 });
    const install = r.rebootRequested - r.downloading;
    agent.push({ ...r, mibps: rel.size / MiB / install, mibpsFromStart: rel.size / MiB / r.rebootRequested });
    log(
      `${rel.mib} MiB run ${run}: agent        ${fixed(rel.size / MiB / install, 0).padStart(5)} MiB/s (${fixed(install, 2)} s after ${fixed(r.downloading, 2)} s of start-up; stored at ${fixed(r.stored, 2)} s), peak RSS ${fixed(r.peakRssMiB, 1)} MiB (${fixed(r.startupRssMiB, 1)} at the start of the download)`,
    );
  }
  return { rel, base, agent };
}

const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

async function main() {
  const watchdog = setTimeout(() => {
    log(`ERROR: the benchmark ran past its ${LIMIT_S} s limit (SLIPWAY_BENCH_TIMEOUT)`);
    process.exit(1);
  }, LIMIT_S * 1000);
  watchdog.unref();
  if (!(SMALL_MIB < MIB)) throw new Error(`SLIPWAY_BENCH_SMALL_MIB (${SMALL_MIB}) must be below SLIPWAY_BENCH_MIB (${MIB})`);
  for (const [command, pkg] of [
    ['bash', 'bash'],
    ['curl', 'curl'],
    ['openssl', 'openssl'],
    ['tee', 'coreutils'],
  ])
    ensureTool(command, pkg);
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`);
  // Peak use: the server's copies of both artifacts, a payload and its artifact while one is made, one slot.
  const needMiB = 3 * MIB + 2 * SMALL_MIB + 512;
  const fs = statfsSync(work);
  const freeMiB = (fs.bavail * fs.bsize) / MiB;
  if (freeMiB < needMiB) throw new Error(`${work} has ${fixed(freeMiB, 0)} MiB free; the benchmark needs about ${needMiB} MiB`);
  const loadAtStart = load();

  const server = await startOurs('agent', null);
  const trust = trustRoot(server);
  const small = await release(server, trust.releaseKey, SMALL_MIB);
  const big = await release(server, trust.releaseKey, MIB);
  // No writeback of the artifacts' creation and upload may run during the timed installs.
  sync();
  // The small size first: it also warms the server, the page cache and the disk path for the main one.
  const results = [await measure(server, small, trust, SMALL_RUNS), await measure(server, big, trust, RUNS)];
  const loadAtEnd = load();

  const rows = [];
  for (const { rel, base, agent } of results) {
    const baseline = median(base);
    const ours = median(agent.map((a) => a.mibps));
    const fromStart = median(agent.map((a) => a.mibpsFromStart));
    rows.push([`${rel.mib} MiB`, 'raw pipeline', fixed(baseline, 0), '1.00', '-', base.map((v) => fixed(v, 0)).join(' ')]);
    rows.push([
      '',
      'agent, from "state: downloading"',
      fixed(ours, 0),
      fixed(ours / baseline, 2),
      fixed(Math.max(...agent.map((a) => a.peakRssMiB)), 1),
      agent.map((a) => fixed(a.mibps, 0)).join(' '),
    ]);
    rows.push([
      '',
      'agent, from its spawn (for information)',
      fixed(fromStart, 0),
      fixed(fromStart / baseline, 2),
      '',
      agent.map((a) => fixed(a.mibpsFromStart, 0)).join(' '),
    ]);
  }
  const [s, b] = results;
  const ratio = median(b.agent.map((a) => a.mibps)) / median(b.base);
  const peak = (r) => Math.max(...r.agent.map((a) => a.peakRssMiB));
  const growth = peak(b) - peak(s);
  const startup = median([...s.agent, ...b.agent].map((a) => a.downloading));
  let out = `\nSlipway agent install benchmark: a ${MIB} MiB rootfs artifact (random payload, compression none) from slipway server\n`;
  out += `over loopback HTTPS into a slot file, fsynced; median of ${RUNS} alternating runs each (${SMALL_RUNS} at ${SMALL_MIB} MiB); MiB/s = artifact bytes / seconds\n`;
  out += `agent: node ${relative(repo, BUNDLE)} --once, bootloader "file", reboot command "touch FILE"; timed from its\n`;
  out += `  "state: downloading" log line to the reboot request file (slot written and fsynced, bootloader switched)\n`;
  out += `  its start-up before that line (spawn, device auth, inventory, deployments/next) is measured apart: median ${fixed(startup, 2)} s\n`;
  out += `raw pipeline: bash -c '${PIPELINE}'\n`;
  out += `  with the device token and download link of GET /api/devices/v1/deployments/next; timed from spawn to exit\n`;
  out += `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; load average at start ${loadAtStart}, at end ${loadAtEnd}\n\n`;
  out += `${table(['artifact', 'target', 'MiB/s', 'ratio', 'peak RSS MiB', 'runs (MiB/s)'], rows, new Set([2, 3, 4]))}\n\n`;
  out += `agent peak RSS (VmHWM) per run: ${SMALL_MIB} MiB: ${s.agent.map((a) => fixed(a.peakRssMiB, 1)).join(', ')} MiB; ${MIB} MiB: ${b.agent.map((a) => fixed(a.peakRssMiB, 1)).join(', ')} MiB\n`;
  out += `  of which VmHWM when the download starts (node, the bundle, device auth, deployments/next): median ${fixed(median([...s.agent, ...b.agent].map((a) => a.startupRssMiB)), 1)} MiB\n\n`;
  out += `${ratio >= GOAL_RATIO ? 'PASS' : 'FAIL'} install throughput at ${MIB} MiB: ${fixed(median(b.agent.map((a) => a.mibps)), 0)} MiB/s, ${fixed(ratio, 2)}x the raw pipeline's ${fixed(median(b.base), 0)} MiB/s (goal >= ${GOAL_RATIO})\n`;
  out += `${Math.max(peak(s), peak(b)) <= GOAL_RSS_MIB ? 'PASS' : 'FAIL'} agent peak RSS: ${fixed(peak(s), 1)} MiB at ${SMALL_MIB} MiB, ${fixed(peak(b), 1)} MiB at ${MIB} MiB (goal <= ${GOAL_RSS_MIB} MiB)\n`;
  out += `${growth <= GOAL_RSS_GROWTH_MIB ? 'PASS' : 'FAIL'} agent peak RSS does not grow with the artifact: ${growth >= 0 ? '+' : ''}${fixed(growth, 1)} MiB from ${SMALL_MIB} to ${MIB} MiB (goal <= +${GOAL_RSS_GROWTH_MIB} MiB)\n`;
  process.stdout.write(out);
}

main()
  .catch((err) => {
    log(`ERROR: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(stopAll);

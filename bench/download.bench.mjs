#!/usr/bin/env node
// Download benchmark: one large signed artifact (1 GiB by default) fetched by a device through the
// server's device download route, against nginx serving the same stored file with the same
// certificate on the same machine, in the same run, with the same client (curl, one connection,
// bytes discarded). Prints MiB/s, the ratio to nginx, the server's RSS during the downloads, and
// PASS/FAIL for the goals. Bounded in time; every process is stopped and every file removed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateKeyPair } from '@slipway/core';
import { SimulatedDevice } from '@slipway/testkit';
import { offeredDownloadLink } from './lib/deployment-link.mjs';
import { which } from './lib/measure.mjs';
import { ensureNginx, nginxVersion, startNginx } from './lib/nginx.mjs';
import { generatePayload } from './lib/payload.mjs';
import { fixed, median, table } from './lib/report.mjs';
import { call, freePort, log, serverPid, sha256File, slipway, startOurs, stopAll, work } from './lib/server-harness.mjs';

const MIB = Number(process.env.SLIPWAY_BENCH_MIB ?? 1024);
/** A download takes seconds: more runs than the other server benchmarks, for a steadier median. */
const RUNS = Number(process.env.SLIPWAY_BENCH_RUNS ?? 5);
const GOAL_RATIO = 0.8;
const GOAL_RSS_GROWTH_MIB = 64;
const RSS_SAMPLE_MS = 50;
/** The whole run, artifact creation included; the download of 1 GiB takes seconds. */
const LIMIT_S = Number(process.env.SLIPWAY_BENCH_TIMEOUT ?? 900);
/** One curl download; far above what 1 GiB needs on loopback, low enough to end a stalled one. */
const DOWNLOAD_TIMEOUT_S = Math.max(120, Math.ceil(MIB / 4));
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const NAME = 'bench';
const VERSION = '1';
const DEVICE_TYPE = 'bench-type';

const curls = new Set();
process.on('exit', () => {
  for (const c of curls) if (c.exitCode === null) c.kill('SIGKILL');
});

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Samples a process's RSS every RSS_SAMPLE_MS until stopped; stop() returns { start, peak, end } in MiB. */
function sampleRss(pid) {
  const start = rssMiB(pid);
  let peak = start;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the server has exited: the download fails and says so
    }
  }, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      const end = rssMiB(pid);
      return { start, peak: Math.max(peak, end), end };
    },
  };
}

/**
 * One curl download over HTTP/1.1 with the device's token (nginx ignores it), checked against the
 * server's CA. `sink` 'null' discards the bytes (timed); 'hash' streams them into SHA-256 (untimed).
 * Resolves { status, bytes, seconds, tls, sha256 }.
 */
function curl(url, { ca, token, sink }) {
  const args = ['-sS', '-v', '--http1.1', '--cacert', ca, '--max-time', String(DOWNLOAD_TIMEOUT_S)];
  args.push('-H', `Authorization: Bearer ${token}`);
  if (sink === 'null') args.push('-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}');
  else args.push('--fail', '-o', '-');
  args.push(url);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    curls.add(child);
    const hash = createHash('sha256');
    let bytes = 0;
    let out = '';
    let err = '';
    const started = performance.now();
    child.stdout.on('data', (d) => {
      if (sink === 'null') out += d;
      else {
        hash.update(d);
        bytes += d.length;
      }
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-16384);
    });
    child.on('error', (e) => reject(new Error(`cannot run curl: ${e.message}`)));
    child.on('close', (code, signal) => {
      curls.delete(child);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`curl ${url}: exit ${code ?? signal}\n  ${err.trim().split('\n').slice(-4).join('\n  ')}`));
      const tls = /SSL connection using (\S+) \/ (\S+)/.exec(err);
      const tlsName = tls ? `${tls[1]} ${tls[2]}` : 'unknown';
      if (sink === 'null') {
        const [status, size, total] = out.trim().split(' ').map(Number);
        return resolvePromise({ status, bytes: size, seconds: total, tls: tlsName });
      }
      resolvePromise({ status: 200, bytes, seconds, tls: tlsName, sha256: hash.digest('hex') });
    });
  });
}

/** Keys, a trust root on the server, then the signed artifact; returns its path, size and SHA-256. */
async function uploadArtifact(server) {
  const dir = join(work, 'artifact');
  mkdirSync(dir);
  slipway(server, ['key', 'generate', '--type', 'ecdsa-p256', '--out', join(dir, 'root')]);
  slipway(server, ['key', 'generate', '--type', 'ecdsa-p256', '--out', join(dir, 'release')]);
  const root = join(dir, 'root.json');
  slipway(server, ['trust', 'init', '--root-key', join(dir, 'root.pub'), '--release-key', join(dir, 'release.pub'), '--out', root]);
  slipway(server, ['trust', 'sign', root, '--key', join(dir, 'root.key')]);
  slipway(server, ['trust', 'upload', root]);

  const payload = join(dir, 'payload.bin');
  const artifact = join(dir, 'A.slw');
  log(`generating a ${MIB} MiB random payload and the signed artifact (compression none)`);
  generatePayload(payload, MIB, 'random');
  slipway(server, [
    'artifact',
    'create',
    '--name',
    NAME,
    '--version',
    VERSION,
    '--device-type',
    DEVICE_TYPE,
    '--payload',
    payload,
    '--compression',
    'none',
    '--key',
    join(dir, 'release.key'),
    '--out',
    artifact,
  ]);
  rmSync(payload);
  const sha256 = await sha256File(artifact);
  log('uploading it with slipway artifacts upload');
  const pid = serverPid(server.data);
  const rss = sampleRss(pid);
  const started = performance.now();
  slipway(server, ['artifacts', 'upload', artifact]);
  const upload = { seconds: (performance.now() - started) / 1000, rss: rss.stop() };
  const size = statSync(artifact).size;
  // The server keeps its own copy; ours would only take page cache from the downloads.
  rmSync(artifact);
  return { size, sha256, upload };
}

/** A preauthorized simulated device of DEVICE_TYPE, authenticated, its inventory reported. */
async function enrollDevice(server) {
  const key = generateKeyPair('ecdsa-p256');
  const identity = { serial: 'BENCH-DOWNLOAD-0001' };
  const manifest = { devices: [{ identity, publicKey: key.publicKey.pem }] };
  const imported = await call(`${server.url}/api/management/v1/devices/preauthorize`, server.ca, 'POST', manifest, server.session);
  if (imported.status !== 200) throw new Error(`preauthorize: ${imported.status} ${JSON.stringify(imported.json)}`);
  const device = new SimulatedDevice({ server: server.url, ca: server.ca, identity, privateKeyPem: key.privatePem });
  const auth = await device.authenticate();
  if (auth.status !== 200) throw new Error(`authenticate: ${auth.status} ${JSON.stringify(auth.body)}`);
  const inventory = await device.reportInventory({ device_type: DEVICE_TYPE });
  if (inventory.status !== 204) throw new Error(`inventory: ${inventory.status} ${JSON.stringify(inventory.body)}`);
  const me = await device.checkIn();
  if (me.status !== 200) throw new Error(`check-in: ${me.status} ${JSON.stringify(me.body)}`);
  return { device, id: me.body.id };
}

async function main() {
  const watchdog = setTimeout(() => {
    log(`ERROR: the benchmark ran past its ${LIMIT_S} s limit (SLIPWAY_BENCH_TIMEOUT)`);
    process.exit(1);
  }, LIMIT_S * 1000);
  watchdog.unref();
  if (!which('curl')) throw new Error('curl is not installed (apt-get install -y curl)');
  const nginxBin = ensureNginx(log);

  const server = await startOurs('download', null);
  const pid = serverPid(server.data);
  const caPath = join(server.data, 'tls', 'ca.pem');
  const artifact = await uploadArtifact(server);
  const { device, id } = await enrollDevice(server);
  const ours = await offeredDownloadLink(server, device, id, `${NAME}@${VERSION}`, artifact);
  device.close();

  // nginx serves the very file the server stores (named by its SHA-256): same bytes, same page cache.
  const stored = join(server.data, 'artifacts', `${artifact.sha256}.slw`);
  if (!existsSync(stored)) throw new Error(`the server does not keep the artifact at ${stored}; point nginx at it`);
  const nginx = await startNginx(nginxBin, {
    dir: join(work, 'nginx'),
    root: join(server.data, 'artifacts'),
    cert: join(server.data, 'tls', 'server.pem'),
    key: join(server.data, 'tls', 'server-key.pem'),
    port: await freePort(),
  });
  const targets = [
    { name: `${nginxVersion(nginxBin)} (baseline)`, url: `${nginx.url}/${artifact.sha256}.slw`, pid: nginx.pid },
    { name: 'slipway device download route (sqlite)', url: ours, pid },
  ];
  const token = device.bearer;
  // No writeback of the artifact's creation and upload may run during the timed downloads.
  spawnSync('sync', [], { timeout: 120_000 });

  // From before the server's first byte sent to after its last: every download it serves is in the RSS figures.
  const rss = sampleRss(pid);
  // One untimed download each: checks every byte, and warms the page cache and both servers.
  for (const t of targets) {
    const r = await curl(t.url, { ca: caPath, token, sink: 'hash' });
    if (r.bytes !== artifact.size || r.sha256 !== artifact.sha256)
      throw new Error(
        `${t.name}: downloaded ${r.bytes} bytes with SHA-256 ${r.sha256}; the artifact is ${artifact.size} bytes, ${artifact.sha256}`,
      );
    t.tls = r.tls;
    t.runs = [];
    t.cpu = [];
    log(`${t.name}: SHA-256 of the downloaded bytes matches the artifact (${r.tls})`);
  }
  for (let run = 1; run <= RUNS; run++) {
    // Alternate who goes first, so drift on a noisy machine hits both alike.
    for (const t of run % 2 ? targets : [...targets].reverse()) {
      const cpuBefore = cpuSeconds(t.pid);
      const r = await curl(t.url, { ca: caPath, token, sink: 'null' });
      t.cpu.push((cpuSeconds(t.pid) - cpuBefore) / (r.bytes / 1024 ** 3));
      if (r.status !== 200 || r.bytes !== artifact.size)
        throw new Error(`${t.name}: HTTP ${r.status}, ${r.bytes} of ${artifact.size} bytes`);
      const mibps = r.bytes / (1024 * 1024) / r.seconds;
      t.runs.push(mibps);
      log(
        `run ${run}: ${t.name.padEnd(40)} ${fixed(mibps, 0).padStart(6)} MiB/s  (${fixed(r.seconds, 2)} s, server CPU ${fixed(t.cpu.at(-1), 2)} s/GiB)`,
      );
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  const memory = rss.stop();
  nginx.stop();

  const [base, slipwayRow] = targets.map((t) => ({ ...t, mibps: median(t.runs), cpuPerGiB: median(t.cpu) }));
  const ratio = slipwayRow.mibps / base.mibps;
  const growth = memory.peak - memory.start;
  const rows = [base, slipwayRow].map((t) => [
    t.name,
    fixed(t.mibps, 0),
    fixed(t.mibps / base.mibps, 2),
    fixed(t.cpuPerGiB, 2),
    t.runs.map((v) => fixed(v, 0)).join(' '),
  ]);
  let out = `\nSlipway download benchmark: one ${MIB} MiB signed artifact (compression none), on loopback, same certificate and key\n`;
  out += `client: curl --http1.1, one connection, bytes discarded; median of ${RUNS} runs; TLS: ${[...new Set(targets.map((t) => t.tls))].join(' / ')}\n`;
  out += `slipway: GET /api/devices/v1/downloads/<link from deployments/next> with the device's token; nginx: the same stored file\n\n`;
  out += `${table(['target', 'MiB/s', 'ratio', 'server CPU s/GiB', 'runs (MiB/s)'], rows, new Set([1, 2, 3]))}\n\n`;
  out += `server RSS during the downloads: start ${fixed(memory.start, 0)} MiB, peak ${fixed(memory.peak, 0)} MiB (+${fixed(growth, 0)}), end ${fixed(memory.end, 0)} MiB\n`;
  out += `for information: the upload of the artifact took ${fixed(artifact.upload.seconds, 1)} s (${fixed(artifact.size / (1024 * 1024) / artifact.upload.seconds, 0)} MiB/s), server RSS ${fixed(artifact.upload.rss.start, 0)} -> peak ${fixed(artifact.upload.rss.peak, 0)} MiB\n`;
  out += `SHA-256 of the bytes downloaded from each: ${artifact.sha256} (the artifact's)\n\n`;
  out += `${ratio >= GOAL_RATIO ? 'PASS' : 'FAIL'} download throughput: ${fixed(slipwayRow.mibps, 0)} MiB/s, ${fixed(ratio, 2)}x nginx's ${fixed(base.mibps, 0)} MiB/s (goal >= ${GOAL_RATIO})\n`;
  out += `${growth < GOAL_RSS_GROWTH_MIB ? 'PASS' : 'FAIL'} server RSS flat while serving ${RUNS + 1} downloads of ${MIB} MiB: peak +${fixed(growth, 0)} MiB over the start (goal < +${GOAL_RSS_GROWTH_MIB} MiB)\n`;
  process.stdout.write(out);
}

main()
  .catch((err) => {
    log(`ERROR: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(stopAll);

// `npm run demo`: the whole Slipway story on one machine, as real processes. A server on loopback,
// keys and a trust root made with the CLI, a release signed offline, five gateways (the bundled
// agent under the boot simulator, slots as files), a three-phase rollout, then a bad release that
// the canary rolls back by itself and that halts the rollout. Exits 0 only if all of that happened.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT, CLI, createGateway, gatewaySimulator, readPublicKey, writeSanityHook } from './lib/simulated-gateway.mjs';

const SERIALS = ['GW-0001', 'GW-0002', 'GW-0003', 'GW-0004', 'GW-0005'];
const CANARY = SERIALS[0];
const DEVICE_TYPE = 'gw-demo';
const ADMIN_PASSWORD = 'demo admin password';
/** The whole demo must end well within this; every wait below has its own, shorter bound. */
const DEMO_TIMEOUT_MS = 110_000;
const started = Date.now();

const work = mkdtempSync(join(tmpdir(), 'slipway-demo-'));
const env = {
  PATH: process.env.PATH,
  // The CLI keeps its login session under the home directory: the demo's own, deleted at the end.
  HOME: join(work, 'home'),
  XDG_CONFIG_HOME: join(work, 'home', '.config'),
  NO_COLOR: '1',
};
mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });

const children = new Set();
const devices = [];
let server = null;
let cleaned = false;
let cleaning = null;
let interrupted = false;

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (text) => process.stdout.write(`[${elapsed()}] ${text}\n`);
const step = (text) => process.stdout.write(`\n[${elapsed()}] == ${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

class DemoFailure extends Error {}

/** Kills everything the demo started and deletes its directory; safe to call twice and from 'exit'. */
function killAll() {
  for (const device of devices) {
    const pid = device.sim.agentPid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Stops the gateways and the server and deletes the demo's directory; every caller awaits the same run. */
function cleanup() {
  cleaning ??= stopEverything();
  return cleaning;
}

async function stopEverything() {
  cleaned = true;
  await Promise.race([Promise.all(devices.map((d) => d.sim.stop().catch(() => {}))), sleep(5000)]);
  killAll();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.once('exit', r)), sleep(3000)]);
  }
  killAll();
  rmSync(work, { recursive: true, force: true });
}

process.on('exit', () => {
  killAll();
  rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = true;
    process.stdout.write(`\n${signal}: stopping the gateways and the server, deleting ${work}\n`);
    cleanup().finally(() => process.exit(130));
  });
}

/**
 * Runs the slipway CLI without blocking the event loop (the boot simulators reboot the gateways
 * from it). Bounded by `timeoutMs`; throws with the command's output when it exits non-zero
 * unless `allowedCodes` includes its code.
 */
function slipway(args, { input, timeoutMs = 30_000, allowedCodes = [0], onStderrLine } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!onStderrLine) return;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) onStderrLine(line);
    });
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (signal === 'SIGKILL') return reject(new DemoFailure(`slipway ${args.join(' ')}: no answer within ${timeoutMs / 1000}s`));
      if (!allowedCodes.includes(code))
        return reject(new DemoFailure(`slipway ${args.join(' ')}: exit ${code}\n  ${`${stderr}${stdout}`.trim()}`));
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const slipwayJson = async (args, options) => JSON.parse((await slipway([...args, '--json'], options)).stdout);

/** Polls until `check` returns something truthy; fails after `timeoutMs` with `what`. */
async function eventually(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new DemoFailure(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(250);
  }
}

function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const data = join(work, 'server-data');
  const configFile = join(work, 'server.json');
  // The rollout engine looks every 200 ms (default 2 s) so phases advance while you watch.
  await writeFile(configFile, JSON.stringify({ deployments: { engineIntervalMs: 200 } }));
  const log = [];
  server = spawn(process.execPath, [CLI, 'server', '--config', configFile, '--data', data, '--listen', `127.0.0.1:${port}`], {
    env: { ...env, SLIPWAY_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(server);
  server.stdout.on('data', (d) => log.push(String(d)));
  server.stderr.on('data', (d) => log.push(String(d)));
  server.on('exit', (code, signal) => {
    if (!cleaned) process.stdout.write(`the server exited (${code ?? signal}):\n${log.join('').slice(-3000)}\n`);
  });
  const caFile = join(data, 'tls', 'ca.pem');
  const url = `https://localhost:${port}`;
  await eventually('the server to create its CA', async () => readFileSync(caFile), 20_000);
  await eventually('the server to answer /healthz', async () => (await fetchHealth(url, readFileSync(caFile, 'utf8'))) === 200, 20_000);
  return { url, caFile };
}

async function fetchHealth(url, ca) {
  const { request } = await import('node:https');
  return new Promise((res, rej) => {
    const req = request(`${url}/healthz`, { ca, timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode);
    });
    req.on('error', rej);
    req.end();
  });
}

/** Writes an artifact for `image` and signs it the air-gapped way: sign-request, sign, attach. */
async function release(version, image) {
  const dir = join(work, 'releases');
  await mkdir(dir, { recursive: true });
  const payload = join(dir, `rootfs-${version}.img`);
  await writeFile(payload, image);
  const file = join(dir, `gateway-os-${version}.slw`);
  await slipway([
    'artifact',
    'create',
    '--name',
    'gateway-os',
    '--version',
    version,
    '--device-type',
    DEVICE_TYPE,
    '--payload',
    payload,
    '--security-version',
    '1',
    '--compression',
    'none',
    '--out',
    file,
  ]);
  const request = join(dir, `sign-request-${version}.json`);
  const signature = join(dir, `signature-${version}.json`);
  await slipway(['artifact', 'sign-request', file, '--out', request]);
  say(`  sign-request written; on the "offline" machine: slipway sign ${request.slice(work.length + 1)} --key release.key`);
  await slipway(['sign', request, '--key', join(work, 'keys', 'release.key'), '--out', signature, '--yes']);
  await slipway(['artifact', 'attach', file, signature]);
  await slipway(['artifact', 'verify', file, '--trust', join(work, 'keys', 'root.json'), '--device-type', DEVICE_TYPE]);
  say(`  signature attached and verified under root.json; uploading gateway-os ${version}`);
  await slipway(['artifacts', 'upload', file]);
  return file;
}

/** One gateway: key, slots as files, file-backed boot environment, sanity hook, agent config, boot simulator. */
async function gateway(serial, target, bootable) {
  const files = await createGateway({
    dir: join(work, 'gateways', serial),
    serial,
    deviceType: DEVICE_TYPE,
    serverUrl: target.url,
    caFile: target.caFile,
    trustRootFile: join(work, 'keys', 'root.json'),
    factoryImage: target.factoryImage,
    pollSeconds: 0.5,
    env,
  });
  // The application's health check: the demo makes it fail by creating `app-broken` (canary, release 2).
  const brokenFlag = join(files.dir, 'app-broken');
  await writeSanityHook(
    files,
    '50-app-healthy',
    `#!/bin/sh\nif [ -e '${brokenFlag}' ]; then echo 'the app did not start: sensor service crashed' >&2; exit 1; fi\nexit 0\n`,
  );
  const output = [];
  const sim = await gatewaySimulator(files, { bootable, env, onOutput: (text) => output.push(text) });
  return {
    serial,
    dir: files.dir,
    sim,
    output,
    brokenFlag,
    configFile: files.configFile,
    publicKey: await readPublicKey(files),
    id: null,
  };
}

const FINAL = new Set(['success', 'failure', 'rolled-back', 'already-installed', 'aborted']);

/** Says, per device, what it is doing in the rollout, from `slipway deployments devices`, until stopped. */
function watchDevices(deploymentId, version) {
  const seen = new Map();
  const serialOf = new Map(devices.map((d) => [d.id, d.serial]));
  let stop = false;
  const finals = new Map();
  const look = async () => {
    const page = await slipwayJson(['deployments', 'devices', deploymentId, '--per-page', '500']).catch(() => null);
    for (const d of page?.devices ?? []) {
      const key = `${d.phase}:${d.status}`;
      if (seen.get(d.deviceId) === key) continue;
      seen.set(d.deviceId, key);
      const who = serialOf.get(d.deviceId) ?? d.deviceId.slice(0, 8);
      if (d.status === 'pending') continue;
      const what =
        d.status === 'success'
          ? `installed ${version} and committed`
          : d.status === 'rolled-back'
            ? `ROLLED BACK by itself${d.message ? ` (${d.message})` : ''}`
            : d.status === 'failure'
              ? `failed${d.message ? ` (${d.message})` : ''}`
              : d.status;
      say(`  phase ${d.phase}: ${who} ${what}`);
      if (FINAL.has(d.status)) finals.set(who, d.status);
    }
  };
  const loop = (async () => {
    while (!stop) {
      await look();
      await sleep(700);
    }
  })();
  return {
    finals,
    /** Stops watching after one last look: the rollout has ended, so what it shows is final. */
    async stop() {
      stop = true;
      await loop;
      await look();
    },
  };
}

/** `deployments create … --wait`, with the rollout's own progress lines and each device's steps. */
async function rollout(version, args, expectedCode) {
  let deploymentId = null;
  const created = slipway(
    ['deployments', 'create', '--artifact', `gateway-os@${version}`, ...args, '--wait', '--poll', '1', '--timeout', '60'],
    {
      timeoutMs: 70_000,
      allowedCodes: [0, 3, 4, 5, 6],
      onStderrLine: (line) => {
        const text = line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '').trim();
        if (!text) return;
        const id = /^deployment ([0-9a-f-]{36})/.exec(text)?.[1];
        if (id) deploymentId = id;
        say(`  rollout: ${text}`);
      },
    },
  );
  const id = await Promise.race([
    eventually('the deployment to be created', async () => deploymentId, 15_000),
    created.then(() => deploymentId),
  ]);
  created.catch(() => {}); // awaited below; a failure before that must not be an unhandled rejection
  const watcher = id ? watchDevices(id, version) : null;
  let result;
  try {
    result = await created;
  } finally {
    // One last look, so the last device's outcome is printed.
    await watcher?.stop();
  }
  const finalLine = result.stdout.trim();
  if (finalLine) say(`  rollout: ${finalLine}`);
  if (result.code !== expectedCode) {
    const names = { 0: 'succeeded', 3: 'halted', 4: 'failed', 5: 'aborted', 6: 'still running at --timeout' };
    throw new DemoFailure(
      `expected the rollout of ${version} to be ${names[expectedCode]}, but it was ${names[result.code] ?? result.code}`,
    );
  }
  return { id, finals: watcher?.finals ?? new Map() };
}

async function agentStatus(device) {
  const r = await new Promise((res) => {
    const child = spawn(process.execPath, [AGENT, 'status', '--json', '--config', device.configFile], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', () => {
      clearTimeout(timer);
      children.delete(child);
      res(out);
    });
  });
  return JSON.parse(r);
}

async function main() {
  const hard = setTimeout(() => {
    process.stdout.write(`\nthe demo did not finish within ${DEMO_TIMEOUT_MS / 1000}s\n`);
    cleanup().finally(() => process.exit(1));
  }, DEMO_TIMEOUT_MS);
  hard.unref();

  step('starting the update server');
  const target = await startServer();
  say(`slipway server is up at ${target.url} (SQLite in ${join(work, 'server-data')})`);
  await slipway(['login', '--server', target.url, '--username', 'admin', '--password-stdin', '--ca', target.caFile], {
    input: `${ADMIN_PASSWORD}\n`,
  });
  say('logged in as admin with `slipway login`');

  step('keys and the trust root every gateway is built with');
  const keys = join(work, 'keys');
  await mkdir(keys);
  await slipway(['key', 'generate', '--type', 'ed25519', '--out', join(keys, 'root')]);
  await slipway(['key', 'generate', '--type', 'ecdsa-p256', '--out', join(keys, 'release')]);
  say('generated a root key (Ed25519, stays offline) and a release key (ECDSA P-256)');
  const root = join(keys, 'root.json');
  await slipway([
    'trust',
    'init',
    '--root-key',
    join(keys, 'root.pub'),
    '--release-key',
    join(keys, 'release.pub'),
    '--expires',
    '30d',
    '--out',
    root,
  ]);
  await slipway(['trust', 'sign', root, '--key', join(keys, 'root.key')]);
  await slipway(['trust', 'upload', root]);
  say('root.json created, signed with the root key and uploaded: the server now checks every artifact against it');

  const factoryImage = randomBytes(1024 * 1024);
  const image11 = randomBytes(2 * 1024 * 1024);
  const image12 = randomBytes(2 * 1024 * 1024);
  // Every image is a kernel that boots: release 1.2 boots too, its application is what is broken.
  const bootable = new Set([sha256(factoryImage), sha256(image11), sha256(image12)]);

  step('building release 1.1 and signing it offline');
  await release('1.1', image11);

  step('five gateways: real agent processes, A/B slots as files, rebooted by the boot simulator');
  for (const serial of SERIALS) devices.push(await gateway(serial, { ...target, factoryImage }, (sha) => bootable.has(sha)));
  const manifest = join(work, 'manifest.json');
  await writeFile(
    manifest,
    JSON.stringify({ devices: devices.map((d) => ({ identity: { serial: d.serial }, publicKey: d.publicKey })) }, null, 2),
  );
  await slipway(['devices', 'preauthorize', manifest]);
  say(`preauthorized ${SERIALS.join(', ')} from the factory manifest (their public keys)`);
  for (const device of devices) await device.sim.powerOn();
  say('powered on: each boots slot a (factory release 1.0) and starts slipway-agent');
  await eventually(
    'every gateway to call in and report its device type',
    async () => {
      const list = await slipwayJson([
        'devices',
        'list',
        '--status',
        'accepted',
        '--attr',
        `device_type=${DEVICE_TYPE}`,
        '--per-page',
        '500',
      ]);
      const bySerial = new Map(list.devices.map((d) => [d.identity.serial, d.id]));
      for (const device of devices) device.id = bySerial.get(device.serial) ?? null;
      return devices.every((d) => d.id);
    },
    30_000,
  );
  say('all five called in and were accepted (their keys were preauthorized)');
  await slipway(['groups', 'create', 'gateways']);
  await slipway(['groups', 'add', 'gateways', ...devices.map((d) => d.id)]);
  await slipway(['groups', 'create', 'canary']);
  await slipway(['groups', 'add', 'canary', devices[0].id]);
  say(`groups: "gateways" (all five) and "canary" (${CANARY})`);

  step('rolling out 1.1 in three phases: 20%, 60%, 100%');
  say('$ slipway deployments create --artifact gateway-os@1.1 --group gateways --phases 20%,60%,100% --wait');
  const first = await rollout('1.1', ['--group', 'gateways', '--phases', '20%,60%,100%', '--success-threshold', '100%'], 0);
  const notUpdated = SERIALS.filter((s) => first.finals.get(s) !== 'success');
  if (notUpdated.length) throw new DemoFailure(`release 1.1 did not reach ${notUpdated.join(', ')}`);
  say('release 1.1 runs on every gateway');

  step('building release 1.2: its application crashes on the canary');
  await writeFile(devices[0].brokenFlag, '');
  say(`(the demo makes ${CANARY}'s sanity hook fail from now on: the "new app" will not start there)`);
  await release('1.2', image12);

  step(`rolling out 1.2: canary first (${CANARY}), then 60%, 100%; halt at the first failure`);
  say('$ slipway deployments create --artifact gateway-os@1.2 --group gateways --phases canary,60%,100% --max-failures 1 --wait');
  const second = await rollout('1.2', ['--group', 'gateways', '--phases', 'canary,60%,100%', '--max-failures', '1'], 3);
  if (second.finals.get(CANARY) !== 'rolled-back')
    throw new DemoFailure(`${CANARY} did not roll back (it reported ${second.finals.get(CANARY)})`);
  const reached = SERIALS.slice(1).filter((s) => second.finals.has(s));
  if (reached.length) throw new DemoFailure(`the halted rollout still reached ${reached.join(', ')}`);
  const log = await slipway(['deployments', 'logs', second.id, devices[0].id]).catch(() => ({ stdout: '' }));
  const why = log.stdout.split('\n').find((l) => /sanity hook/.test(l));
  if (why) say(`  ${CANARY}'s log, uploaded to the server: ${why.replace(/^\S*\d{4}-\d\d-\d\dT[\d:.]+Z\s*/, '').trim()}`);
  say('the canary went back to its old slot by itself and the rollout halted: no other gateway got 1.2');

  step('summary');
  const rows = [];
  for (const device of devices) {
    const status = await agentStatus(device);
    const outcome =
      device.serial === CANARY
        ? `1.1 committed; 1.2 failed its sanity hook, rolled back to 1.1 (canary)`
        : `1.1 committed; 1.2 never offered (rollout halted)`;
    rows.push([device.serial, status.boot?.active ?? '?', status.installed?.version ?? '1.0 (factory)', outcome]);
  }
  const header = ['device', 'slot', 'installed', 'outcome'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n`);
  const wrong = rows.filter((r) => r[2] !== '1.1');
  if (wrong.length)
    throw new DemoFailure(`expected every gateway to run 1.1 at the end: ${wrong.map((r) => `${r[0]} runs ${r[2]}`).join(', ')}`);
  process.stdout.write(`\nrollback on the canary: ${CANARY} rolled back 1.2 by itself and runs 1.1 again\n`);
  process.stdout.write('rollout halted: 1.2 stopped after the canary; the other four were never offered it\n');
  clearTimeout(hard);
}

let code = 0;
try {
  await main();
  say(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)}s`);
} catch (err) {
  code = 1;
  // Ctrl-C also stops the CLI children: their failure is not the demo's.
  if (interrupted) await new Promise(() => {});
  process.stdout.write(`\nDEMO FAILED: ${err instanceof DemoFailure ? err.message : (err?.stack ?? err)}\n`);
  for (const device of devices) {
    const tail = device.output.join('').trim().split('\n').slice(-8).join('\n    ');
    if (tail) process.stdout.write(`  ${device.serial}'s agent said, last:\n    ${tail}\n`);
  }
}
await cleanup();
process.exit(code);

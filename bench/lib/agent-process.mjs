// The bundled slipway-agent as a gateway runs it, for benchmarks: a device directory (its key, the
// golden trust root, slots as files, a JSON bootloader environment, an agent config) and one
// measured `slipway-agent --once`: when its log says it starts downloading and when the reboot
// request file appears (slot written, fsynced, bootloader switched), and its peak RSS (VmHWM).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateKeyPair, parsePrivateKey } from '@slipway/core';
import { repo } from './server-harness.mjs';

/** The single-file bundle that a device image ships (`npm run build` writes it). */
export const AGENT_BUNDLE = join(repo, 'packages/agent/dist/slipway-agent.mjs');
/** How often the reboot request file and VmHWM are looked at: well under 1% of a 1 s install. */
const POLL_MS = 5;
const TAIL_CHARS = 4096;

const agents = new Set();
process.on('exit', () => {
  for (const child of agents) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * A gateway in `dir`: slot a holds `factoryBytes` and is active, slot b is empty; the bootloader
 * is the agent's `file` type (a JSON environment written atomically); the reboot command touches
 * a file instead of rebooting. Returns what a run and the server need to know about it.
 */
export function prepareAgentDevice(dir, { serial, deviceType, serverUrl, caFile, trustRootFile, factoryBytes }) {
  mkdirSync(join(dir, 'state'), { recursive: true });
  const slots = { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') };
  writeFileSync(slots.a, factoryBytes);
  writeFileSync(slots.b, '');
  const key = generateKeyPair('ed25519');
  const keyFile = join(dir, 'device.key');
  writeFileSync(keyFile, key.privatePem, { mode: 0o600 });
  const rootFile = join(dir, 'root.json');
  copyFileSync(trustRootFile, rootFile);
  const envFile = join(dir, 'env.json');
  writeFileSync(envFile, JSON.stringify({ slipway_slot: 'a', bootlimit: '2' }));
  const bootIdFile = join(dir, 'boot_id');
  writeFileSync(bootIdFile, 'boot-1\n');
  const rebootFile = join(dir, 'reboot-requested');
  const configFile = join(dir, 'agent.json');
  const config = {
    server: { url: serverUrl, caFile },
    device: { deviceType, identity: { serial }, keyFile },
    trustRootFile: rootFile,
    stateDir: join(dir, 'state'),
    download: { stallSeconds: 30, maxResumes: 3 },
    rootfs: { slotA: slots.a, slotB: slots.b, bootloader: { type: 'file', envFile } },
    rebootCommand: ['touch', rebootFile],
    bootIdFile,
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  return {
    dir,
    identity: { serial },
    privatePem: key.privatePem,
    publicKeyPem: parsePrivateKey(key.privatePem).publicKey.pem,
    slots,
    envFile,
    rebootFile,
    configFile,
  };
}

function hwmKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone
  }
}

/**
 * Runs `slipway-agent --once` on the device until it asks for the reboot, then stops it (SIGTERM;
 * the agent persists every step, so that is how it is meant to be stopped). Resolves, in seconds
 * from the spawn: `downloading` (its `state: downloading` line), `stored` (`… verified and stored`),
 * `rebootRequested`; `peakRssMiB`, the highest VmHWM seen, read last just before the stop, and
 * `startupRssMiB`, VmHWM when the download started. `nodeArgs` go to node before the bundle
 * (e.g. `--cpu-prof`, to profile an install); `bundle` runs another build of the agent.
 * Rejects, with the agent's output, if it exits first or runs past `timeoutS`.
 */
export function runAgentOnce(device, { timeoutS, nodeArgs = [], bundle = AGENT_BUNDLE }) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, bundle, '--once', '--config', device.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agents.add(child);
    const marks = {};
    let output = '';
    let partial = '';
    let peakKiB = 0;
    let settled = false;
    let rebootRequested;
    let poll;
    let limit;
    const since = () => (performance.now() - started) / 1000;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(limit);
      if (err) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(new Error(`${err}\n  agent output:\n  ${output.trim().split('\n').slice(-12).join('\n  ')}`));
      } else resolvePromise(value);
    };
    child.stdout.on('data', (d) => {
      const now = since();
      output = (output + d).slice(-TAIL_CHARS);
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (marks.downloading === undefined && /^state: downloading$/.test(line)) {
          marks.downloading = now;
          marks.startupRssMiB = hwmKiB(child.pid) / 1024;
        }
        if (marks.stored === undefined && / verified and stored$/.test(line)) marks.stored = now;
      }
    });
    child.stderr.on('data', (d) => {
      output = (output + d).slice(-TAIL_CHARS);
    });
    poll = setInterval(() => {
      peakKiB = Math.max(peakKiB, hwmKiB(child.pid));
      if (!existsSync(device.rebootFile)) return;
      rebootRequested = since();
      peakKiB = Math.max(peakKiB, hwmKiB(child.pid));
      clearInterval(poll);
      child.kill('SIGTERM');
    }, POLL_MS);
    limit = setTimeout(() => finish(`the agent did not ask for a reboot within ${timeoutS} s`), timeoutS * 1000);
    child.on('error', (err) => finish(`cannot start the agent: ${err.message}`));
    child.on('close', (code, signal) => {
      agents.delete(child);
      // Exited on its own between two polls: the request is dated by its exit, a little late.
      if (rebootRequested === undefined && existsSync(device.rebootFile)) rebootRequested = since();
      if (rebootRequested === undefined) return finish(`the agent exited (${signal ?? `code ${code}`}) before asking for a reboot`);
      if (marks.downloading === undefined) return finish('the agent asked for a reboot without logging "state: downloading"');
      finish(null, { ...marks, rebootRequested, peakRssMiB: peakKiB / 1024 });
    });
  });
}

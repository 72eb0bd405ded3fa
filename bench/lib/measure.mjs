// Runs one command as a subprocess, timing its wall clock and capturing its peak RSS.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'rss-launcher.mjs');
const TAIL_BYTES = 4096;
const running = new Set();

/** Kills every command still running (its whole process group), e.g. on Ctrl-C. */
export function killRunning() {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

function lastNumber(path) {
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const n = Number(lines[lines.length - 1]);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/**
 * How peak RSS is measured: GNU time (`-f %M`) when it works and reports sane numbers (some old
 * builds report 4x), else the in-process node launcher (our CLI only; baselines get no RSS).
 */
export function detectRssMethod(tmpDir, force) {
  const bin = '/usr/bin/time';
  if (force !== 'launcher' && existsSync(bin)) {
    const out = join(tmpDir, 'time-probe.txt');
    const probe = spawnSync(bin, ['-f', '%M', '-o', out, process.execPath, '-e', 'Buffer.alloc(96 * 1024 * 1024, 1)'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    const kib = probe.status === 0 ? lastNumber(out) : null;
    rmSync(out, { force: true });
    if (kib !== null && kib > 96 * 1024 && kib < 256 * 1024) return { method: 'gnu-time', bin };
  }
  return { method: 'node-launcher', bin: null };
}

/**
 * Runs `cmd args` and resolves { seconds, rssMiB }. `isNodeCli` marks our CLI (cmd = node) so the
 * launcher fallback can measure it. Throws, with the command and its stderr, on a non-zero exit.
 */
export function runMeasured(rss, { cmd, args, cwd, timeoutS, isNodeCli = false, rssFile }) {
  let argv;
  let measured = true;
  if (rss.method === 'gnu-time') argv = [rss.bin, '-f', '%M', '-o', rssFile, cmd, ...args];
  else if (isNodeCli) argv = [cmd, LAUNCHER, rssFile, ...args];
  else {
    argv = [cmd, ...args];
    measured = false;
  }
  rmSync(rssFile, { force: true });
  const shown = [cmd, ...args].join(' ');
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    // Own process group, so a timeout or Ctrl-C can kill the command and anything it started.
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout = (stdout + d).slice(-TAIL_BYTES);
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-TAIL_BYTES);
    });
    let seconds = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutS * 1000);
    child.on('exit', () => {
      seconds = (performance.now() - started) / 1000;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new Error(`cannot run ${shown}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (timedOut) return reject(new Error(`timed out after ${timeoutS}s: ${shown}`));
      if (code !== 0) {
        const detail = `${stderr.trim()}\n${stdout.trim()}`.trim().split('\n').slice(-8).join('\n  ');
        return reject(new Error(`exit ${code ?? signal}: ${shown}\n  ${detail}`));
      }
      const kib = measured ? lastNumber(rssFile) : null;
      resolvePromise({ seconds, rssMiB: kib === null ? null : kib / 1024, stdout });
    });
  });
}

/** Runs a short untimed helper command; throws with its output on failure. */
export function runQuiet(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 600_000, ...options });
  if (r.error) throw new Error(`cannot run ${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`exit ${r.status ?? r.signal}: ${cmd} ${args.join(' ')}\n  ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

// Finds (or installs) mender-artifact and probes what this version can do.

import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { which } from './measure.mjs';

function apt(args) {
  return spawnSync('apt-get', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** Returns the path of mender-artifact, installing it with apt-get when missing; null (and why) when impossible. */
export function ensureMenderArtifact(log) {
  const found = which('mender-artifact');
  if (found) return { path: found, note: null };
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return { path: null, note: 'mender-artifact is missing and we are not root' };
  if (!which('apt-get')) return { path: null, note: 'mender-artifact is missing and there is no apt-get' };
  log('mender-artifact is missing: apt-get install -y mender-artifact');
  let r = apt(['install', '-y', 'mender-artifact']);
  if (r.status !== 0) {
    log('install failed; apt-get update and retry');
    apt(['update']);
    r = apt(['install', '-y', 'mender-artifact']);
  }
  const path = which('mender-artifact');
  if (path) return { path, note: 'installed with apt-get' };
  const why = `${r.stderr ?? ''}`.trim().split('\n').slice(-2).join(' / ');
  return { path: null, note: `mender-artifact could not be installed (${why || `apt-get exit ${r.status}`})` };
}

/** Writes a SEC1 P-256 key pair, the PEM format mender-artifact signs with. */
export function writeMenderKey(dir) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = join(dir, 'mender-key.pem');
  const pub = join(dir, 'mender-key.pub.pem');
  writeFileSync(key, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { key, pub };
}

export function writeArgs(payload, compression, out, key) {
  return [
    'write',
    'module-image',
    '-T',
    'single-file',
    '-t',
    'gw',
    '-n',
    'bench',
    '-f',
    payload,
    '--compression',
    compression,
    ...(key ? ['-k', key] : []),
    '-o',
    out,
  ];
}

/**
 * What this mender-artifact supports: its version, the --compression values its help lists,
 * the name of a zstd level if any (3.9 has none), and whether signing (-k) and validate -k work.
 */
export function probeMender(bin, dir, keys) {
  const run = (args) => spawnSync(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  const version = run(['--version']).stdout.trim();
  const help = `${run(['write', 'module-image', '--help']).stdout}`;
  const m = /--compression[^\n]*supports:\s*([^\n]*)/.exec(help);
  const compressions = m
    ? m[1]
        .split(/[,\s]+/)
        .map((s) => s.replace(/\.$/, ''))
        .filter(Boolean)
    : ['none', 'gzip'];
  const zstd = compressions.find((c) => c === 'zstd_default') ?? compressions.find((c) => c.startsWith('zstd')) ?? null;
  const payload = join(dir, 'mender-probe.bin');
  const out = join(dir, 'mender-probe.mender');
  writeFileSync(payload, Buffer.alloc(1024 * 1024, 7));
  let signing = false;
  let validate = false;
  let problem = null;
  try {
    const w = run(writeArgs(payload, 'gzip', out, keys.key));
    signing = w.status === 0;
    if (!signing) problem = `write -k failed: ${(w.stderr || w.stdout).trim().split('\n').pop()}`;
    else {
      const v = run(['validate', out, '-k', keys.pub]);
      validate = v.status === 0;
      if (!validate) problem = `validate -k failed: ${(v.stderr || v.stdout).trim().split('\n').pop()}`;
    }
    const plain = run(writeArgs(payload, 'none', out, null));
    if (plain.status !== 0) throw new Error(`mender-artifact write fails even unsigned: ${(plain.stderr || plain.stdout).trim()}`);
  } finally {
    rmSync(payload, { force: true });
    rmSync(out, { force: true });
  }
  return { version, compressions, zstd, signing, validate, problem };
}

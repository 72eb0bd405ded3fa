// `slipway server` as a user runs it: the committed launcher, a real process, signals.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../cli/bin/slipway.mjs');
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-command-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, 'server', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
}

test('--help prints the usage and exits 0', () => {
  const result = run(['--help']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^Usage: slipway server \[--config FILE\] \[--data DIR\] \[--listen HOST:PORT\]/);
});

test('--print-config prints the effective configuration with the database and MQTT passwords redacted', () => {
  const result = run(['--print-config', '--data', join(dir, 'd'), '--database', 'postgres://u:s3cret@db/slipway'], {
    SLIPWAY_LISTEN: '127.0.0.1:9443',
    SLIPWAY_MQTT_URL: 'mqtts://server:hunter2@broker.example:8883',
  });
  assert.equal(result.status, 0, result.stderr);
  const config = JSON.parse(result.stdout) as { listen: string; database: { url: string }; mqtt: { url: string } };
  assert.equal(config.listen, '127.0.0.1:9443');
  assert.ok(!result.stdout.includes('s3cret'));
  assert.equal(config.mqtt.url, 'mqtts://server:REDACTED@broker.example:8883');
});

test('bad input is one coded line on stderr and exit 2', () => {
  for (const args of [['--no-such-flag'], ['--listen', 'nowhere'], ['--print-config', '--config', join(dir, 'missing.json')]]) {
    const result = run(args);
    assert.equal(result.status, 2, args.join(' '));
    assert.match(result.stderr, /^SLW_[A-Z_]+: [^\n]+\n$/, result.stderr);
  }
});

test('starts, serves, and stops cleanly on SIGTERM; --rotate-secrets waits until it is stopped', async () => {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'server', '--data', join(dir, 'run'), '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env.PATH ?? '', SLIPWAY_ADMIN_PASSWORD: 'pw-for-the-test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const match = /"url":"(https:\/\/[^"]+)","msg":"listening"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1] as string);
      }
    });
  });
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(!out.includes('pw-for-the-test'), 'the admin password is never logged');
  // Rotating the secrets of a running server's SQLite database is refused: it would keep the old keys.
  const busy = run(['--rotate-secrets', '--data', join(dir, 'run')]);
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, /^SLW_DB_IN_USE: /);
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(out, /"msg":"stopped"/);
  const rotated = run(['--rotate-secrets', '--data', join(dir, 'run')]);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(rotated.stdout, /^rotated 2 server secret\(s\) \(device-token-signing-key, download-url-key\): /);
});

test('--json adds the coded error as JSON on stdout', () => {
  const result = run(['--json', '--listen', 'nowhere']);
  assert.equal(result.status, 2);
  assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'SLW_CONFIG_INVALID');
});

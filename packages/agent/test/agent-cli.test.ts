import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair } from '@slipway/core';
import { AGENT_BUNDLE } from './support/agent-device.js';

const agent = (args: string[]) => {
  const result = spawnSync(process.execPath, [AGENT_BUNDLE, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SLIPWAY_AGENT_CONFIG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};
const oneCodedLine = (stderr: string, code: string) => {
  const first = stderr.split('\n')[0] ?? '';
  assert.match(first, new RegExp(`^${code}: `));
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
};

describe('the slipway-agent command line', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-cli-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('--help and --version answer without a config', () => {
    const help = agent(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /slipway-agent install A\.slw\|URL/);
    assert.match(agent(['--version']).stdout, /^slipway-agent \d+\.\d+\.\d+\n$/);
  });

  test('a usage mistake exits 2 with one coded line', () => {
    for (const args of [['--no-such-flag'], ['frobnicate'], ['install'], ['install', 'a.slw', 'b.slw'], ['status', 'extra']]) {
      const result = agent(args);
      assert.equal(result.code, 2, args.join(' '));
      oneCodedLine(result.stderr, 'SLW_USAGE_INVALID_OPTION');
    }
  });

  test('a missing or broken config exits 1 with one coded line naming it', async () => {
    const missing = agent(['status', '--config', join(dir, 'absent.json')]);
    assert.equal(missing.code, 1);
    oneCodedLine(missing.stderr, 'SLW_IO_NOT_FOUND');
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"device":');
    const result = agent(['status', '--config', broken]);
    assert.equal(result.code, 1);
    oneCodedLine(result.stderr, 'SLW_CONFIG_INVALID');
  });

  test('a device key readable by others is refused before it is used', async () => {
    const key = join(dir, 'device.key');
    await writeFile(key, generateKeyPair('ed25519').privatePem, { mode: 0o644 });
    await chmod(key, 0o644);
    const config = join(dir, 'leaky.json');
    await writeFile(
      config,
      JSON.stringify({
        server: { url: 'https://127.0.0.1:1', caFile: 'ca.pem' },
        device: { deviceType: 'gw', identity: { serial: 'GW-1' }, keyFile: key },
        trustRootFile: 'root.json',
        stateDir: join(dir, 'state-leaky'),
      }),
    );
    const result = agent(['status', '--config', config]);
    assert.equal(result.code, 1);
    oneCodedLine(result.stderr, 'SLW_KEY_PERMISSIONS');
  });

  test('the daemon refuses a config without a server; install refuses a source it cannot read', async () => {
    const config = join(dir, 'standalone.json');
    await writeFile(config, JSON.stringify({ device: { deviceType: 'gw' }, trustRootFile: 'root.json', stateDir: join(dir, 'state') }));
    const daemon = agent(['--config', config]);
    assert.equal(daemon.code, 1);
    oneCodedLine(daemon.stderr, 'SLW_CONFIG_INVALID');
    const ftp = agent(['install', 'ftp://example.com/a.slw', '--config', config]);
    assert.equal(ftp.code, 1);
    oneCodedLine(ftp.stderr, 'SLW_USAGE_INVALID_OPTION');
  });
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '@slipway/core';
import { loadAgentConfig } from '../src/config/agent-config.js';

describe('the agent config', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-config-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const write = async (config: unknown, name = `agent-${++n}.json`) => {
    const file = join(dir, name);
    await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config));
    return file;
  };
  const refused = async (config: unknown, pattern: RegExp) =>
    assert.rejects(loadAgentConfig(await write(config)), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_CONFIG_INVALID');
      assert.match(err.message, pattern);
      return true;
    });

  test('a minimal standalone config gets every default, with paths taken from its own directory', async () => {
    const config = await loadAgentConfig(await write({ device: { deviceType: 'gw' }, trustRootFile: 'root.json' }));
    assert.equal(config.server, null);
    assert.equal(config.trustRootFile, join(dir, 'root.json'));
    assert.equal(config.stateDir, '/var/lib/slipway-agent');
    assert.equal(config.logs.keyFile, '/var/lib/slipway-agent/log.key');
    assert.deepEqual(config.rebootCommand, ['systemctl', 'reboot']);
    assert.equal(config.polling.intervalMs, 1_800_000);
    assert.equal(config.healthGate.requireServer, false);
    assert.deepEqual(config.modules.dirs, ['/usr/lib/slipway/modules', '/usr/share/mender/modules/v3']);
    assert.equal(config.mqtt, null);
  });

  test('mqtt wake-ups: the broker, its CA from the config directory, and the default topic prefix', async () => {
    const config = await loadAgentConfig(
      await write({
        server: { url: 'https://updates.example', caFile: 'ca.pem' },
        device: { deviceType: 'gw', identity: { serial: 'GW-1' }, keyFile: 'device.key' },
        trustRootFile: 'root.json',
        mqtt: { url: 'mqtts://updates.example:8883', caFile: 'mqtt-ca.pem' },
      }),
    );
    assert.deepEqual(config.mqtt, {
      url: 'mqtts://updates.example:8883',
      caFile: join(dir, 'mqtt-ca.pem'),
      topicPrefix: 'slipway',
      username: null,
      passwordFile: null,
    });
  });

  test('the per-device file from slipway provision fills in the server, identity, key and certificate', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(
      join(dir, 'data', 'agent.json'),
      JSON.stringify({
        server: 'https://updates.example.com:8443',
        serverCaFile: 'server-ca.pem',
        deviceType: 'gw-a',
        identityFile: 'identity.json',
        keyFile: 'device.key',
        certificateFile: 'device.pem',
      }),
    );
    const config = await loadAgentConfig(await write({ deviceFile: 'data/agent.json', trustRootFile: '/etc/slipway/root.json' }));
    assert.deepEqual(config.server, { url: 'https://updates.example.com:8443', caFile: join(dir, 'data', 'server-ca.pem'), mtls: true });
    assert.equal(config.device.deviceType, 'gw-a');
    assert.equal(config.device.identityFile, join(dir, 'data', 'identity.json'));
    assert.equal(config.device.keyFile, join(dir, 'data', 'device.key'));
    assert.equal(config.device.certificateFile, join(dir, 'data', 'device.pem'));
    assert.equal(config.healthGate.requireServer, true);
  });

  test('mistakes are refused with the field that is wrong', async () => {
    await refused('{ not json', /not valid JSON/);
    await refused({ device: { deviceType: 'gw' } }, /trustRootFile/);
    await refused({ device: { deviceType: 'gw' }, trustRootFile: 'r.json', polling: { intervalSecond: 5 } }, /polling/);
    await refused(
      { device: { deviceType: 'gw' }, trustRootFile: 'r.json', server: { url: 'http://plain', caFile: 'ca.pem' } },
      /server\/url/,
    );
    await refused(
      { device: { deviceType: 'gw', identity: { serial: 'x' } }, trustRootFile: 'r.json', server: { url: 'https://s', caFile: 'ca.pem' } },
      /keyFile/,
    );
    await refused({ device: { deviceType: 'gw', identity: { serial: 'x' }, identityFile: 'i.json' }, trustRootFile: 'r.json' }, /not both/);
    await refused({ trustRootFile: 'r.json' }, /deviceType/);
    await refused({ device: { deviceType: 'gw' }, trustRootFile: 'r.json', mqtt: { url: 'mqtt://broker' } }, /mqtt wake-ups need a server/);
    await refused({ device: { deviceType: 'gw' }, trustRootFile: 'r.json', mqtt: { url: 'http://broker' } }, /mqtt\/url/);
    await refused(
      { device: { deviceType: 'gw' }, trustRootFile: 'r.json', rootfs: { slotA: 'a', slotB: 'b', bootloader: { type: 'lilo' } } },
      /bootloader/,
    );
  });

  test('a missing config file is a not-found error naming it', async () => {
    await assert.rejects(
      loadAgentConfig(join(dir, 'absent.json')),
      (err: SlipwayError) => err.code === 'SLW_IO_NOT_FOUND' && err.message.includes('absent.json'),
    );
  });
});

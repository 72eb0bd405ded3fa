// The real agent process against the real server on loopback: the bundled slipway-agent, slots
// as files, U-Boot's environment written by fw_setenv, and the boot simulator rebooting it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentDevice, agentDevice, eventually, rootfsArtifact, sha256 } from './support/agent-device.js';
import { signedRoot, signer } from './support/trust.js';
import { UpdateServer } from './support/update-server.js';

const FINAL = new Set(['success', 'failure', 'rolled-back', 'already-installed', 'aborted']);

describe('the agent daemon against the real server', () => {
  let dir: string;
  let server: UpdateServer;
  const [rootKey, release] = [signer(), signer()];
  let golden: Buffer;
  const factory = randomBytes(64 * 1024);
  const good = randomBytes(3 * 1024 * 1024 + 17);
  const broken = randomBytes(256 * 1024);
  const bootable = new Set([sha256(factory), sha256(good)]);
  const devices: AgentDevice[] = [];
  let n = 0;

  const artifact = async (version: string, image: Buffer) => {
    const file = await rootfsArtifact(dir, { version, image, deviceType: 'gw-e2e', signer: release });
    await server.uploadArtifact(file);
    return file;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-e2e-'));
    server = await UpdateServer.start(dir);
    golden = await signedRoot(1, [rootKey], [release], [rootKey]);
    await server.uploadRoot(golden);
    await artifact('2.0', good);
    await artifact('2.1-broken', broken);
  });
  after(async () => {
    for (const device of devices) await device.sim.stop();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deviceBasics = (serial: string) => ({
    serial,
    deviceType: 'gw-e2e',
    goldenRoot: golden,
    factoryImage: factory,
    bootable: (sha: string) => bootable.has(sha),
  });

  /** A device that has called in and been accepted, its agent running. */
  const onlineDevice = async (options: { failHealth?: boolean; config?: Record<string, unknown> } = {}) => {
    const serial = `GW-E2E-${++n}`;
    const device = await agentDevice(join(dir, serial), {
      ...deviceBasics(serial),
      server,
      failHealthWhileExists: true,
      ...(options.config ? { config: options.config } : {}),
    });
    if (options.failHealth) await writeFile(device.failFlag, '');
    devices.push(device);
    await server.preauthorize(device.identity, device.publicKeyPem);
    await device.sim.powerOn();
    const id = await eventually(`${serial} to call in`, () => server.deviceId(serial).then((d) => d ?? undefined));
    // Targeting needs the device type, which the inventory brings.
    await eventually(`${serial} inventory`, async () => (await server.inventory(id)).device_type === 'gw-e2e');
    return { device, id };
  };

  /** A device without a server, used by hand; its first boot is `boot-1`. */
  const localDevice = async () => {
    const serial = `GW-LOCAL-${++n}`;
    const device = await agentDevice(join(dir, serial), deviceBasics(serial));
    await writeFile(device.bootIdFile, 'boot-1\n');
    return device;
  };

  const settled = (deployment: string, id: string, device?: AgentDevice) =>
    eventually(
      'the deployment to end for the device',
      async () => {
        const status = await server.deviceStatus(deployment, id);
        return status && FINAL.has(status) ? status : undefined;
      },
      60_000,
    ).catch((err: Error) => {
      // What the agent said is what explains a timeout.
      throw new Error(`${err.message}; the agent said:\n${device?.output.join('').slice(-4000) ?? '(not captured)'}`);
    });

  const idle = (device: AgentDevice) =>
    eventually('the agent to be idle', async () => {
      const record = JSON.parse(await readFile(join(device.stateDir, 'update.json'), 'utf8').catch(() => '{"state":"idle"}'));
      return record.state === 'idle';
    });

  test('a good release is downloaded, booted on trial, committed and reported as success', async () => {
    const { device, id } = await onlineDevice();
    const deployment = await server.deploy('gateway-os@2.0', [id]);
    assert.equal(await settled(deployment, id, device), 'success');
    await idle(device);
    assert.equal(await device.sim.activeSlot(), 'b');
    assert.equal(sha256(await readFile(device.slots.b)), sha256(good));
    const env = await device.sim.readEnv();
    assert.equal(env.get('upgrade_available'), '0');
    const installed = JSON.parse(await readFile(join(device.stateDir, 'installed.json'), 'utf8'));
    assert.equal(installed.version, '2.0');
    await eventually('the inventory to show 2.0', async () => (await server.inventory(id)).artifact_version === '2.0');
    assert.equal(device.sim.boots.length, 2);
  });

  test('a failing sanity hook rolls back to the old slot and the server gets rolled-back with the log', async () => {
    const { device, id } = await onlineDevice({ failHealth: true });
    const deployment = await server.deploy('gateway-os@2.0', [id]);
    assert.equal(await settled(deployment, id, device), 'rolled-back');
    await idle(device);
    assert.equal(await device.sim.activeSlot(), 'a');
    assert.equal(sha256(await readFile(device.slots.a)), sha256(factory));
    const log = await server.deviceLog(deployment, id);
    assert.match(log ?? '', /sanity hook 50-app-healthy failed/);
    // The server has the log: the device keeps no copy.
    assert.deepEqual(await readdir(join(device.stateDir, 'logs')).catch(() => []), []);
  });

  test('a trial slot that never comes up is abandoned by the bootloader and reported as rolled-back', async () => {
    const { device, id } = await onlineDevice();
    const deployment = await server.deploy('gateway-os@2.1-broken', [id]);
    assert.equal(await settled(deployment, id, device), 'rolled-back');
    await idle(device);
    assert.equal(await device.sim.activeSlot(), 'a');
    // The broken slot was tried bootlimit+1 times before the fallback.
    assert.ok((device.sim.boots.at(-1)?.attempts ?? 0) > 1);
  });

  test('a new slot that cannot reach the server again is rolled back', async () => {
    const { device, id } = await onlineDevice();
    const deployment = await server.deploy('gateway-os@2.0', [id]);
    // The new software gets a config pointing at a server that is not there: simulate by a wrong CA after the switch.
    await eventually('the trial boot', async () => (await device.sim.readEnv()).get('upgrade_available') === '1', 60_000);
    const config = JSON.parse(await readFile(device.configFile, 'utf8'));
    const original = JSON.stringify(config);
    config.server.url = 'https://127.0.0.1:1';
    await writeFile(device.configFile, JSON.stringify(config));
    await eventually(
      'the rollback',
      async () => (await device.sim.readEnv()).get('upgrade_available') === '0' && (await device.sim.activeSlot()) === 'a',
      60_000,
    );
    await writeFile(device.configFile, original);
    await device.sim.powerCut();
    assert.equal(await settled(deployment, id, device), 'rolled-back');
    assert.equal(sha256(await readFile(device.slots.a)), sha256(factory));
  });

  test('an abort from the server stops a download in progress and leaves the device as it was', async () => {
    const { device, id } = await onlineDevice({ config: { download: { minBytesPerSecond: 0, stallSeconds: 30 } } });
    const deployment = await server.deploy('gateway-os@2.0', [id]);
    await eventually('the download to start', async () => (await server.deviceStatus(deployment, id)) === 'downloading', 30_000);
    await server.abort(deployment);
    assert.equal(await settled(deployment, id, device), 'aborted');
    await idle(device);
    assert.equal(await device.sim.activeSlot(), 'a');
    assert.equal((await device.sim.readEnv()).get('upgrade_available') ?? '0', '0');
  });

  test('slipway-agent install, commit and status work without a server', async () => {
    const device = await localDevice();
    const install = await device.command(['install', join(dir, 'gateway-os-2.0.slw')]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /reboot now to try gateway-os 2.0/);
    const early = await device.command(['commit']);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /^SLW_AGENT_REBOOT_PENDING: /);
    await writeFile(device.bootIdFile, 'boot-2\n');
    const commit = await device.command(['commit']);
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /gateway-os 2.0 is installed and committed/);
    const status = JSON.parse((await device.command(['status', '--json'])).stdout);
    assert.equal(status.state, 'idle');
    assert.equal(status.installed.version, '2.0');
    assert.equal(status.boot.active, 'b');
    assert.equal(status.boot.upgradeAvailable, false);
    const again = await device.command(['install', join(dir, 'gateway-os-2.0.slw')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /installed already/);
    const nothing = await device.command(['rollback']);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /^SLW_AGENT_NO_UPDATE: /);
  });

  test('slipway-agent rollback gives up a trial before it is committed', async () => {
    const device = await localDevice();
    assert.equal((await device.command(['install', join(dir, 'gateway-os-2.0.slw')])).code, 0);
    await writeFile(device.bootIdFile, 'boot-2\n');
    const rollback = await device.command(['rollback']);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /reboot now to go back/);
    await writeFile(device.bootIdFile, 'boot-3\n');
    const done = await device.command(['rollback']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /rolled back/);
    const status = JSON.parse((await device.command(['status', '--json'])).stdout);
    assert.equal(status.boot.active, 'a');
    assert.equal(status.installed, null);
  });
});

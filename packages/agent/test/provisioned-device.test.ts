// A device as a factory makes it: `slipway provision` writes its bundle, the golden image's agent
// config points at it, and the server admits it by its manufacturing certificate, over mutual TLS
// that the server requires, with no operator step. Then a deployment reaches it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createArtifact } from '@slipway/core';
import { opensslSelfSigned } from '@slipway/testkit';
import { agentDevice, eventually, sha256 } from './support/agent-device.js';
import { signedRoot, signer } from './support/trust.js';
import { UpdateServer } from './support/update-server.js';

const SLIPWAY = fileURLToPath(new URL('../../../cli/bin/slipway.mjs', import.meta.url));

describe('a provisioned device admitted by its certificate over mutual TLS', () => {
  let dir: string;
  let server: UpdateServer;
  const [rootKey, release] = [signer(), signer()];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-provisioned-'));
    const caPem = join(dir, 'factory-ca.pem');
    const caKey = join(dir, 'factory-ca.key');
    opensslSelfSigned({ keyOut: caKey, certOut: caPem, subject: '/CN=Factory CA' });
    server = await UpdateServer.start(dir, { devices: { manufacturingCaFiles: [caPem], mtls: { mode: 'required', caFiles: [caPem] } } });
    const provision = spawnSync(
      process.execPath,
      [
        SLIPWAY,
        'provision',
        '--count',
        '1',
        '--device-type',
        'gw-prov',
        '--serial-prefix',
        'GW-P-',
        '--first',
        '1',
        '--manufacturing-ca',
        caPem,
        '--manufacturing-ca-key',
        caKey,
        '--server',
        server.url,
        '--server-ca',
        server.caFile,
        '--out',
        join(dir, 'batch'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(provision.status, 0, provision.stderr);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the agent reads the per-device bundle, is admitted at first contact and installs a deployment', async () => {
    const golden = await signedRoot(1, [rootKey], [release], [rootKey]);
    await server.uploadRoot(golden);
    const image = randomBytes(512 * 1024);
    await writeFile(join(dir, 'rootfs.img'), image);
    const file = join(dir, 'os.slw');
    await createArtifact(file, {
      name: 'gateway-os',
      version: '3.0',
      securityVersion: 1,
      deviceTypes: ['gw-prov'],
      payloadType: 'rootfs',
      payloads: [{ path: join(dir, 'rootfs.img'), name: 'rootfs.img' }],
      compression: 'none',
      now: new Date(),
      signers: [release],
    });
    await server.uploadArtifact(file);
    const factory = randomBytes(4096);
    const bootable = new Set([sha256(factory), sha256(image)]);
    const device = await agentDevice(join(dir, 'GW-P-000001'), {
      serial: 'GW-P-000001',
      deviceType: 'unused',
      goldenRoot: golden,
      factoryImage: factory,
      bootable: (sha) => bootable.has(sha),
    });
    // The golden image's config names no server or device: the provisioned bundle brings them.
    const config = JSON.parse(await readFile(device.configFile, 'utf8'));
    delete config.device;
    config.deviceFile = join(dir, 'batch', 'devices', 'GW-P-000001', 'agent.json');
    await writeFile(device.configFile, JSON.stringify(config));
    await device.sim.powerOn();
    try {
      const id = await eventually('the device to be admitted', () => server.deviceId('GW-P-000001').then((d) => d ?? undefined));
      await eventually('its inventory', async () => (await server.inventory(id)).device_type === 'gw-prov');
      const deployment = await server.deploy('gateway-os@3.0', [id]);
      await eventually('success', async () => (await server.deviceStatus(deployment, id)) === 'success', 60_000);
      assert.equal(await device.sim.activeSlot(), 'b');
      assert.equal(sha256(await readFile(device.slots.b)), sha256(image));
    } catch (err) {
      // What the agent said is what explains a timeout.
      throw new Error(`${(err as Error).message}; the agent said:\n${device.output.join('').slice(-3000)}`);
    } finally {
      await device.sim.stop();
    }
  });
});

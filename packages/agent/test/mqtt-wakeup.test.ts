// MQTT wake-ups end to end, over TLS with client certificates on both sides: a real server
// publishing through a real Mosquitto, and the bundled agent that would otherwise poll only
// once an hour installing a deployment within seconds of its creation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningMosquitto, startMosquitto } from '@slipway/testkit';
import { type AgentDevice, agentDevice, eventually, rootfsArtifact, sha256 } from './support/agent-device.js';
import { signedRoot, signer } from './support/trust.js';
import { UpdateServer } from './support/update-server.js';

let dir: string;
let broker: RunningMosquitto;
let server: UpdateServer;
let device: AgentDevice | undefined;
const [rootKey, release] = [signer(), signer()];
const factory = randomBytes(64 * 1024);
const image = randomBytes(512 * 1024);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-agent-mqtt-'));
  broker = await startMosquitto({ tls: true, requireCertificate: true });
  const serverCert = await broker.clientCertificate('slipway-server');
  await writeFile(join(dir, 'mqtt-ca.pem'), broker.ca as string);
  await writeFile(join(dir, 'server-mqtt.pem'), serverCert.cert);
  await writeFile(join(dir, 'server-mqtt-key.pem'), serverCert.key, { mode: 0o600 });
  server = await UpdateServer.start(dir, {
    mqtt: {
      url: broker.url,
      caFile: join(dir, 'mqtt-ca.pem'),
      certFile: join(dir, 'server-mqtt.pem'),
      keyFile: join(dir, 'server-mqtt-key.pem'),
      topicPrefix: 'fleet-a',
    },
  });
});
after(async () => {
  await device?.sim.stop();
  await server.close();
  await broker.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a device that polls once an hour installs a deployment within seconds of its creation, woken over MQTT', {
  timeout: 90_000,
}, async () => {
  const golden = await signedRoot(1, [rootKey], [release], [rootKey]);
  await server.uploadRoot(golden);
  await server.uploadArtifact(await rootfsArtifact(dir, { version: '5.0', image, deviceType: 'gw-mqtt', signer: release }));
  const serial = 'GW-MQTT-1';
  const deviceDir = join(dir, serial);
  const certificateFile = join(deviceDir, 'device.pem');
  device = await agentDevice(deviceDir, {
    serial,
    deviceType: 'gw-mqtt',
    goldenRoot: golden,
    factoryImage: factory,
    bootable: (sha) => sha === sha256(factory) || sha === sha256(image),
    server,
    env: 'file',
    config: {
      device: { deviceType: 'gw-mqtt', identity: { serial }, keyFile: join(deviceDir, 'device.key'), certificateFile },
      // Left to polling, the deployment would wait an hour.
      polling: { intervalSeconds: 3600, jitter: 0, retryMaxSeconds: 1, inventoryIntervalSeconds: 3600 },
      mqtt: { url: broker.url, caFile: join(dir, 'mqtt-ca.pem'), topicPrefix: 'fleet-a' },
    },
  });
  // The broker requires a client certificate: the device presents one for its own key.
  await writeFile(certificateFile, (await broker.clientCertificate(serial, join(deviceDir, 'device.key'))).cert);
  await server.preauthorize(device.identity, device.publicKeyPem);
  await device.sim.powerOn();
  const id = await eventually(`${serial} to call in`, () => server.deviceId(serial).then((d) => d ?? undefined));
  await eventually(`${serial} inventory`, async () => (await server.inventory(id)).device_type === 'gw-mqtt').catch((err: Error) =>
    assert.fail(`${err.message}; the agent said:\n${(device as AgentDevice).output.join('').slice(-3000)}`),
  );
  const output = () => (device as AgentDevice).output.join('');
  await eventually('the agent to subscribe', async () => output().includes(`listening for wake-ups on fleet-a/devices/${id}/wake`));

  const started = Date.now();
  const deployment = await server.deploy('gateway-os@5.0', [id]);
  const status = await eventually(
    'the deployment to succeed',
    async () => {
      const s = await server.deviceStatus(deployment, id);
      return s === 'success' || s === 'failure' || s === 'rolled-back' ? s : undefined;
    },
    60_000,
  ).catch((err: Error) => assert.fail(`${err.message}; the agent said:\n${output().slice(-3000)}`));
  assert.equal(status, 'success', output());
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  assert.match(output(), /woken up over MQTT: asking for a deployment now/);
  assert.equal(await device.sim.activeSlot(), 'b');
});

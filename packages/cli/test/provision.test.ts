// slipway provision: per-device bundles from a manufacturing CA made with openssl, checked with
// openssl, and admitted by a real server both ways (zero-touch certificate, preauthorized manifest).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '@slipway/server';
import { opensslSelfSigned } from '@slipway/testkit';
import { simpleDevice } from './support/device-client.js';
import { assertFails, assertOk, parseJson, slipway } from './support/run.js';

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('slipway provision', () => {
  let dir: string;
  let caPem: string;
  let caKey: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-provision-'));
    caPem = join(dir, 'factory-ca.pem');
    caKey = join(dir, 'factory-ca.key');
    opensslSelfSigned({ keyOut: caKey, certOut: caPem, subject: '/CN=Factory CA' });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('writes one bundle per device and a manifest; openssl verifies each certificate against the CA', async () => {
    const out = join(dir, 'batch-1');
    const result = await slipway([
      'provision',
      '--count',
      '3',
      '--device-type',
      'gw-a',
      '--manufacturing-ca',
      caPem,
      '--manufacturing-ca-key',
      caKey,
      '--out',
      out,
      '--server',
      'https://updates.example:8443',
      '--server-ca',
      caPem,
      '--json',
    ]);
    assertOk(result);
    assert.deepEqual(parseJson<{ serials: string[] }>(result).serials, ['GW-000001', 'GW-000002', 'GW-000003']);
    assert.deepEqual((await readdir(join(out, 'devices'))).sort(), ['GW-000001', 'GW-000002', 'GW-000003']);
    const bundle = join(out, 'devices', 'GW-000002');
    assert.deepEqual((await readdir(bundle)).sort(), ['agent.json', 'device.key', 'device.pem', 'identity.json', 'server-ca.pem']);
    assert.equal((await stat(join(bundle, 'device.key'))).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(join(bundle, 'identity.json'), 'utf8')), { serial: 'GW-000002' });
    assert.deepEqual(JSON.parse(await readFile(join(bundle, 'agent.json'), 'utf8')), {
      server: 'https://updates.example:8443',
      serverCaFile: 'server-ca.pem',
      deviceType: 'gw-a',
      identityFile: 'identity.json',
      keyFile: 'device.key',
      certificateFile: 'device.pem',
    });
    assert.match(openssl(['verify', '-CAfile', caPem, join(bundle, 'device.pem')]), /: OK/);
    const text = openssl(['x509', '-in', join(bundle, 'device.pem'), '-noout', '-text']);
    assert.match(text, /Subject: CN ?= ?GW-000002/);
    assert.match(text, /URI:urn:slipway:identity\?serial=GW-000002/);
    assert.match(text, /TLS Web Client Authentication/);
    // The certificate is for the bundle's own key.
    const certKey = openssl(['x509', '-in', join(bundle, 'device.pem'), '-noout', '-pubkey']);
    const ownKey = openssl(['pkey', '-in', join(bundle, 'device.key'), '-pubout']);
    assert.equal(certKey, ownKey);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { devices: { identity: { serial: string } }[] };
    assert.deepEqual(
      manifest.devices.map((d) => d.identity.serial),
      ['GW-000001', 'GW-000002', 'GW-000003'],
    );
  });

  test("never overwrites, refuses a CA key that is not the certificate's, and one readable by others", async () => {
    const common = ['--count', '1', '--device-type', 'gw', '--manufacturing-ca', caPem];
    assertFails(await slipway(['provision', ...common, '--manufacturing-ca-key', caKey, '--out', join(dir, 'batch-1')]), 'SLW_IO_EXISTS');
    const otherKey = join(dir, 'other.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
    await chmod(otherKey, 0o600);
    assertFails(await slipway(['provision', ...common, '--manufacturing-ca-key', otherKey, '--out', join(dir, 'b2')]), 'SLW_KEY_INVALID');
    await chmod(otherKey, 0o644);
    assertFails(
      await slipway(['provision', ...common, '--manufacturing-ca-key', otherKey, '--out', join(dir, 'b3')]),
      'SLW_KEY_PERMISSIONS',
    );
    assertFails(
      await slipway(['provision', ...common, '--manufacturing-ca-key', caKey, '--out', join(dir, 'b4'), '--count', '0']),
      'SLW_USAGE_INVALID_OPTION',
    );
  });

  describe('a server that trusts the factory CA', () => {
    let server: RunningServer;
    let serverCa: string;
    before(async () => {
      const config = await loadServerConfig(
        { dataDir: join(dir, 'data'), listen: '127.0.0.1:0' },
        { SLIPWAY_MANUFACTURING_CA_FILES: caPem },
      );
      server = await startServer(config, { logger: createLogger('silent'), adminPassword: 'admin password for provisioning' });
      serverCa = await readFile(server.caFile as string, 'utf8');
    });
    after(async () => server.close());

    test('a provisioned device is admitted at first contact with its certificate', async () => {
      const bundle = join(dir, 'batch-1', 'devices', 'GW-000001');
      const device = simpleDevice(server.url.replace('127.0.0.1', 'localhost'), serverCa, 'GW-000001', {
        privatePem: await readFile(join(bundle, 'device.key'), 'utf8'),
        certificate: await readFile(join(bundle, 'device.pem'), 'utf8'),
      });
      const response = await device.authenticate();
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.ok(response.body.token);
    });
  });
});

// Mutual TLS on the device API, over real HTTPS on loopback: client certificates verified against
// the device CA and its CRL, matched to the authenticating key, and bound into the device token.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEVICE_SIGNATURE_HEADER } from '@slipway/core';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '../src/index.js';
import { signedAuth, type TestCa, type TestDevice, testCa, testDevice } from './support/device.js';

interface Reply {
  status: number;
  body: { token?: string; error?: { code: string; message: string } };
}

function call(
  server: RunningServer,
  ca: string,
  path: string,
  options: { body?: Buffer; headers?: Record<string, string>; tls?: { cert: string; key: string } },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server.url.replace('127.0.0.1', 'localhost')),
      {
        method: options.body ? 'POST' : 'GET',
        ca,
        headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...options.headers },
        ...(options.tls ?? {}),
        // A fresh connection per call: the TLS session must not carry another call's certificate.
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function auth(server: RunningServer, ca: string, device: TestDevice, tls?: { cert: string; key: string }) {
  const { body, signature } = await signedAuth(device);
  return call(server, ca, '/api/devices/v1/auth', { body, headers: { [DEVICE_SIGNATURE_HEADER]: signature }, ...(tls ? { tls } : {}) });
}

for (const mode of ['required', 'optional'] as const) {
  describe(`device API with mutual TLS ${mode}`, () => {
    let dir: string;
    let server: RunningServer;
    let serverCa: string;
    let deviceCa: TestCa;
    let revoked: { device: TestDevice; cert: string };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'slipway-mtls-'));
      deviceCa = await testCa('Device CA');
      revoked = { device: testDevice('GW-REVOKED') as TestDevice, cert: '' };
      revoked.cert = await deviceCa.issue(revoked.device);
      await writeFile(join(dir, 'device-ca.pem'), deviceCa.cert);
      await writeFile(join(dir, 'device.crl'), await deviceCa.crl([new X509Certificate(revoked.cert).serialNumber.toLowerCase()]));
      const config = await loadServerConfig(
        { dataDir: join(dir, 'data'), listen: '127.0.0.1:0' },
        {
          SLIPWAY_DEVICE_MTLS: mode,
          SLIPWAY_DEVICE_CA_FILES: join(dir, 'device-ca.pem'),
          SLIPWAY_DEVICE_CRL_FILES: join(dir, 'device.crl'),
          SLIPWAY_MANUFACTURING_CA_FILES: join(dir, 'device-ca.pem'),
        },
      );
      server = await startServer(config, { logger: createLogger('silent'), adminPassword: 'admin password for mtls tests' });
      serverCa = await readFile(server.caFile as string, 'utf8');
    });
    after(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('a device with a certificate from the device CA is admitted, and its token works only with that certificate', async () => {
      const device = testDevice(`GW-${mode}-OK`);
      const tls = { cert: await deviceCa.issue(device), key: device.privatePem };
      const admitted = await auth(server, serverCa, device, tls);
      assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
      const headers = { authorization: `Bearer ${admitted.body.token}` };
      assert.equal((await call(server, serverCa, '/api/devices/v1/device', { headers, tls })).status, 200);
      const stolen = await call(server, serverCa, '/api/devices/v1/device', { headers });
      assert.equal(stolen.status, 401);
      assert.equal(stolen.body.error?.code, 'SLW_DEVICE_CERTIFICATE_INVALID');
      const other = testDevice(`GW-${mode}-OTHER`);
      const otherTls = { cert: await deviceCa.issue(other), key: other.privatePem };
      const swapped = await call(server, serverCa, '/api/devices/v1/device', { headers, tls: otherTls });
      assert.equal(swapped.body.error?.code, 'SLW_DEVICE_CERTIFICATE_INVALID');
    });

    test('a revoked certificate is refused (mTLS with a revoked certificate)', async () => {
      const refused = await auth(server, serverCa, revoked.device, { cert: revoked.cert, key: revoked.device.privatePem });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error?.code, 'SLW_DEVICE_CERTIFICATE_INVALID');
      assert.match(refused.body.error?.message ?? '', /revoked/);
    });

    test('a certificate from another CA, or for another key than the one authenticating, is refused', async () => {
      const rogueCa = await testCa('Rogue CA');
      const device = testDevice(`GW-${mode}-ROGUE`);
      const rogue = await auth(server, serverCa, device, { cert: await rogueCa.issue(device), key: device.privatePem });
      assert.equal(rogue.body.error?.code, 'SLW_DEVICE_CERTIFICATE_INVALID');
      assert.match(rogue.body.error?.message ?? '', /not trusted/);
      const holder = testDevice(`GW-${mode}-HOLDER`);
      const signer = testDevice(`GW-${mode}-SIGNER`);
      const mismatch = await auth(server, serverCa, signer, { cert: await deviceCa.issue(holder), key: holder.privatePem });
      assert.equal(mismatch.body.error?.code, 'SLW_DEVICE_CERTIFICATE_INVALID');
      assert.match(mismatch.body.error?.message ?? '', /another key/);
    });

    test(
      mode === 'required'
        ? 'a device without a certificate is refused; users still reach the server'
        : 'a device without a certificate may still authenticate',
      async () => {
        const bare = await auth(server, serverCa, testDevice(`GW-${mode}-BARE`));
        if (mode === 'required') {
          assert.equal(bare.status, 401);
          assert.equal(bare.body.error?.code, 'SLW_DEVICE_CERTIFICATE_INVALID');
        } else assert.equal(bare.body.error?.code, 'SLW_DEVICE_PENDING');
        assert.equal((await call(server, serverCa, '/healthz', {})).status, 200);
      },
    );
  });
}

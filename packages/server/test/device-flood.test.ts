// A bounded flood of invalid device requests over real HTTPS on loopback: the flood is turned away
// with 429s while an accepted device, from another address, keeps being served.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEVICE_SIGNATURE_HEADER } from '@slipway/core';
import { httpsJsonClient, SimulatedDevice } from '@slipway/testkit';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '../src/index.js';
import { signedAuth, type TestCa, testCa, testDevice } from './support/device.js';

const FLOOD_REQUESTS = 1500;
const FLOOD_CONCURRENCY = 40;
const FLOOD_DEADLINE_MS = 60_000;

describe('a flood of invalid device requests', () => {
  let dir: string;
  let server: RunningServer;
  let ca: string;
  let factory: TestCa;
  let url: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-flood-'));
    factory = await testCa('Factory');
    await writeFile(join(dir, 'factory.pem'), factory.cert);
    const config = await loadServerConfig(
      { dataDir: join(dir, 'data'), listen: '127.0.0.1:0' },
      { SLIPWAY_MANUFACTURING_CA_FILES: join(dir, 'factory.pem') },
    );
    server = await startServer(config, { logger: createLogger('silent'), adminPassword: 'admin password for the flood test' });
    ca = await readFile(server.caFile as string, 'utf8');
    url = server.url.replace('127.0.0.1', 'localhost');
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('gets 429s while an accepted device keeps being served', async () => {
    const real = testDevice('GW-FLOOD-OK');
    const device = new SimulatedDevice({
      server: url,
      ca,
      identity: real.identity,
      privateKeyPem: real.privatePem,
      certificate: await factory.issue(real),
      localAddress: '127.0.0.1',
    });
    assert.equal((await device.authenticate()).status, 200);

    // Valid JSON, a fresh identity each time, signed by the wrong key: the most expensive kind of invalid.
    const attacker = httpsJsonClient(url, ca, { maxSockets: FLOOD_CONCURRENCY });
    const victim = testDevice('GW-FLOOD-VICTIM');
    const impostor = testDevice('impostor');
    const forged = await Promise.all(
      Array.from({ length: 50 }, () =>
        signedAuth({ ...victim, identity: { serial: `GW-X-${Math.random()}` } }, { signer: impostor.signer }),
      ),
    );
    const statuses = new Map<number, number>();
    const deadline = Date.now() + FLOOD_DEADLINE_MS;
    let sent = 0;
    const flood = Promise.all(
      Array.from({ length: FLOOD_CONCURRENCY }, async () => {
        while (sent < FLOOD_REQUESTS && Date.now() < deadline) {
          const { body, signature } = forged[sent++ % forged.length] as { body: Buffer; signature: string };
          const reply = await attacker.call('POST', '/api/devices/v1/auth', {
            body,
            headers: { [DEVICE_SIGNATURE_HEADER]: signature },
            localAddress: '127.0.0.2',
          });
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        }
      }),
    );
    // Meanwhile the accepted device checks in and re-authenticates, from its own address.
    const served: number[] = [];
    let flooding = true;
    void flood.finally(() => (flooding = false));
    while (flooding) {
      served.push((await device.checkIn()).status);
      if (served.length % 10 === 0) served.push((await device.authenticate()).status);
    }
    await flood;
    attacker.close();
    device.close();

    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, FLOOD_REQUESTS, 'the flood ran to its bound');
    const limited = statuses.get(429) ?? 0;
    const refused = statuses.get(401) ?? 0;
    // 30 failures are free per address, refilled at 30 a minute: everything else is a cheap 429.
    assert.ok(refused <= 60, `${refused} requests got as far as the signature check`);
    assert.equal(limited + refused, FLOOD_REQUESTS, JSON.stringify(Object.fromEntries(statuses)));
    assert.ok(served.length >= 10, `${served.length} check-ins during the flood`);
    assert.deepEqual([...new Set(served)], [200], 'every request of the accepted device was served');
  });

  test('failures for one identity lock that identity out, not the others', async () => {
    const target = testDevice('GW-TARGETED');
    const impostor = testDevice('impostor-2');
    const client = httpsJsonClient(url, ca);
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { body, signature } = await signedAuth(target, { signer: impostor.signer });
      // From a new address each time: the per-address budget never runs out, the per-identity one does.
      const reply = await client.call('POST', '/api/devices/v1/auth', {
        body,
        headers: { [DEVICE_SIGNATURE_HEADER]: signature },
        localAddress: `127.0.1.${i + 1}`,
      });
      codes.push((reply.body as { error: { code: string } }).error.code);
    }
    assert.deepEqual(codes.slice(0, 5), Array(5).fill('SLW_DEVICE_AUTH_INVALID'));
    assert.deepEqual(codes.slice(5), Array(3).fill('SLW_DEVICE_RATE_LIMITED'));
    const other = testDevice('GW-UNTARGETED');
    const { body, signature } = await signedAuth(other);
    const reply = await client.call('POST', '/api/devices/v1/auth', {
      body,
      headers: { [DEVICE_SIGNATURE_HEADER]: signature },
      localAddress: '127.0.1.9',
    });
    assert.equal((reply.body as { error: { code: string } }).error.code, 'SLW_DEVICE_PENDING');
    client.close();
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileKeySigner, generateKeyPair, parsePrivateKey, type SlipwayError } from '@slipway/core';
import { DeviceClient } from '../src/transport/device-client.js';
import { UpdateServer } from './support/update-server.js';

describe('the device client against the real server', () => {
  let dir: string;
  let server: UpdateServer;
  let otherCa: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-client-'));
    server = await UpdateServer.start(dir);
    const other = await UpdateServer.start(await mkdtemp(join(dir, 'other-')));
    otherCa = other.ca;
    await other.close();
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (serial: string, options: { ca?: string; url?: string } = {}) => {
    const key = parsePrivateKey(generateKeyPair('ecdsa-p256').privatePem);
    return {
      key,
      client: new DeviceClient({
        url: options.url ?? server.url,
        ca: options.ca ?? server.ca,
        identity: { serial },
        signer: fileKeySigner(key),
        publicKeyPem: key.publicKey.pem,
        timeoutMs: 5000,
      }),
    };
  };

  test('a server whose certificate the pinned CA did not issue is refused before anything is sent', async () => {
    const { client: c } = client('GW-CLIENT-1', { ca: otherCa });
    await assert.rejects(c.authenticate(), (err: SlipwayError) => err.code === 'SLW_SERVER_TLS_UNTRUSTED' && !err.retryable);
    c.close();
  });

  test('a server that is not there is unreachable, and that is worth retrying', async () => {
    const { client: c } = client('GW-CLIENT-2', { url: 'https://127.0.0.1:1' });
    await assert.rejects(c.checkIn(), (err: SlipwayError) => err.code === 'SLW_SERVER_UNREACHABLE' && err.retryable);
    c.close();
  });

  test('a device not yet admitted gets the pending code with the server’s retry hint', async () => {
    const { client: c } = client('GW-CLIENT-3');
    await assert.rejects(c.authenticate(), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_DEVICE_PENDING');
      assert.equal(typeof err.details?.retryAfterSeconds, 'number');
      return true;
    });
    c.close();
  });

  test('an admitted device checks in, has no deployment, and learns there is no newer root', async () => {
    const { client: c, key } = client('GW-CLIENT-4');
    await server.preauthorize({ serial: 'GW-CLIENT-4' }, key.publicKey.pem);
    assert.equal((await c.checkIn()).status, 'accepted');
    await c.reportInventory({ device_type: 'gw' });
    assert.equal(await c.nextDeployment(), null);
    assert.equal(await c.rootDocument(7), null);
    c.close();
  });
});

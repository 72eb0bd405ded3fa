import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '@slipway/core';
import type { FastifyInstance } from 'fastify';
import { API, bearer } from './app.js';
import { authenticate, DEVICES, type TestCa, testDevice } from './device.js';
import { newSigner, signedRoot, writeArtifact } from './trust.js';

export interface FleetDevice {
  readonly serial: string;
  readonly id: string;
  readonly token: string;
}

/** Devices admitted through the manufacturing CA, each reporting its device type. */
export async function admitFleet(
  app: FastifyInstance,
  ca: TestCa,
  prefix: string,
  count: number,
  deviceType: string | null,
): Promise<FleetDevice[]> {
  const fleet: FleetDevice[] = [];
  for (let i = 1; i <= count; i++) {
    const serial = `${prefix}-${i}`;
    const device = testDevice(serial);
    const response = await authenticate(app, device, { certificate: await ca.issue(device) });
    assert.equal(response.statusCode, 200, response.body);
    const { deviceId, token } = response.json() as { deviceId: string; token: string };
    if (deviceType !== null) {
      const inventory = await app.inject({
        method: 'PUT',
        url: `${DEVICES}/inventory`,
        headers: bearer(token),
        payload: { attributes: { device_type: deviceType, artifact_name: 'base', artifact_version: '0.9' } },
      });
      assert.equal(inventory.statusCode, 204, inventory.body);
    }
    fleet.push({ serial, id: deviceId, token });
  }
  return fleet;
}

/** Uploads the fleet's trust root (once) and returns a signer for release artifacts. */
export async function trustRelease(app: FastifyInstance, admin: string): Promise<Signer> {
  const rootKey = newSigner();
  const release = newSigner();
  const root = await signedRoot({ version: 1, rootKeys: [rootKey], releaseKeys: [release], signers: [rootKey] });
  const response = await app.inject({
    method: 'POST',
    url: `${API}/trust/roots`,
    headers: { ...bearer(admin), 'content-type': 'application/json' },
    payload: root,
  });
  assert.equal(response.statusCode, 201, response.body);
  return release;
}

export async function uploadArtifact(
  app: FastifyInstance,
  admin: string,
  dir: string,
  release: Signer,
  name: string,
  version: string,
  deviceTypes: string[],
): Promise<{ id: string; bytes: Buffer }> {
  const file = join(dir, `${name}-${version}.slw`);
  await writeArtifact(file, { name, version, signers: [release], deviceTypes });
  const bytes = await readFile(file);
  const response = await app.inject({
    method: 'POST',
    url: `${API}/artifacts`,
    headers: { ...bearer(admin), 'content-type': 'application/octet-stream' },
    payload: bytes,
  });
  assert.equal(response.statusCode, 201, response.body);
  return { id: (response.json() as { id: string }).id, bytes };
}

/** Polls until `check` holds (the rollout engine works a moment after a report), at most 5 s. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bufferSource, createArtifact, type Signer, type SlipwayError } from '@slipway/core';
import { DeviceTrust } from '../src/trust/device-trust.js';
import { signedRoot, signer } from './support/trust.js';

const root = signedRoot;

const code = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    return (err as SlipwayError).code;
  }
  return 'no error';
};

describe('the device trust: root rotations and the install gate', () => {
  let dir: string;
  let n = 0;
  const [root1, root2, root3, release, stranger, strangerRelease] = [signer(), signer(), signer(), signer(), signer(), signer()];
  let golden: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-trust-'));
    golden = join(dir, 'golden-root.json');
    await writeFile(golden, await root(1, [root1], [release], [root1]));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const fresh = async () => {
    const state = join(dir, `state-${++n}`);
    await mkdir(state);
    return { trust: new DeviceTrust(state, golden), state };
  };
  const artifact = async (options: {
    version?: string;
    securityVersion?: number;
    deviceTypes?: string[];
    signers?: Signer[];
    expiresAt?: Date;
    now?: Date;
  }) => {
    const file = join(dir, `a-${++n}.slw`);
    await writeFile(`${file}.payload`, randomBytes(100_000));
    await createArtifact(file, {
      name: 'gateway-os',
      version: options.version ?? '2.0',
      securityVersion: options.securityVersion ?? 2,
      deviceTypes: options.deviceTypes ?? ['gw'],
      payloadType: 'rootfs',
      payloads: [{ path: `${file}.payload`, name: 'rootfs.img' }],
      compression: 'none',
      now: options.now ?? new Date(),
      ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
      signers: options.signers ?? [release],
    });
    return readFile(file);
  };
  const device = { deviceType: 'gw', now: new Date() };

  test('a rotation chain 1 -> 2 -> 3 is followed one step at a time and the newest root kept', async () => {
    const { trust, state } = await fresh();
    const chain = new Map([
      [2, await root(2, [root2], [release], [root1, root2])],
      [3, await root(3, [root3], [release], [root2, root3])],
    ]);
    const asked: number[] = [];
    const newest = await trust.followRotations(async (v) => {
      asked.push(v);
      return chain.get(v) ?? null;
    }, new Date());
    assert.equal(newest.version, 3);
    assert.deepEqual(asked, [2, 3, 4]);
    assert.equal((await trust.root()).version, 3);
    assert.deepEqual(await readFile(join(state, 'root.json')), chain.get(3));
  });

  test('a rotation not signed by the previous root keys is refused and the trusted root stays', async () => {
    const { trust } = await fresh();
    const rogue = await root(2, [stranger], [strangerRelease], [stranger]);
    assert.equal(await code(trust.followRotations(async (v) => (v === 2 ? rogue : null), new Date())), 'SLW_TRUST_ROOT_OLD_THRESHOLD');
    const skipping = await root(3, [root3], [release], [root1, root3]);
    assert.equal(await code(trust.followRotations(async (v) => (v === 2 ? skipping : null), new Date())), 'SLW_TRUST_ROOT_VERSION');
    assert.equal((await trust.root()).version, 1);
  });

  test('a chain ending in an expired root is refused (freeze attack)', async () => {
    const { trust } = await fresh();
    const stale = await root(2, [root2], [release], [root1, root2], new Date(Date.now() - 1000));
    assert.equal(await code(trust.followRotations(async (v) => (v === 2 ? stale : null), new Date())), 'SLW_TRUST_ROOT_EXPIRED');
    assert.equal((await trust.root()).version, 1);
  });

  test('a signed artifact for this device passes the gate and its payloads verify as they stream', async () => {
    const { trust } = await fresh();
    const reader = await trust.openVerified(bufferSource(await artifact({})), device, {
      name: 'gateway-os',
      version: '2.0',
      securityVersion: 2,
    });
    await reader.verifyPayloads();
  });

  test('the gate refuses before any payload byte: foreign signature, wrong device type, expired, downgrade, not the offered one', async () => {
    const { trust } = await fresh();
    await trust.recordInstalled({ name: 'gateway-os', version: '1.9', securityVersion: 3, installedAt: new Date().toISOString() });
    const open = async (bytes: Buffer, expected?: { name: string; version: string; securityVersion: number | null }) =>
      code(trust.openVerified(bufferSource(bytes), device, expected));
    assert.equal(await open(await artifact({ securityVersion: 3, signers: [stranger] })), 'SLW_ARTIFACT_SIGNATURE_INVALID');
    assert.equal(await open(await artifact({ securityVersion: 3, deviceTypes: ['other'] })), 'SLW_ARTIFACT_DEVICE_TYPE');
    const past = new Date(Date.now() - 3_600_000);
    assert.equal(
      await open(await artifact({ securityVersion: 3, expiresAt: new Date(Date.now() - 1000), now: past })),
      'SLW_ARTIFACT_EXPIRED',
    );
    assert.equal(await open(await artifact({ securityVersion: 2 })), 'SLW_ARTIFACT_ROLLBACK');
    assert.equal(
      await open(await artifact({ securityVersion: 3, version: '2.1' }), { name: 'gateway-os', version: '2.2', securityVersion: 3 }),
      'SLW_ARTIFACT_MISMATCH',
    );
    assert.equal(await open(await artifact({ securityVersion: 3 })), 'no error');
  });

  test('a payload tampered mid-stream fails while streaming, after the signatures passed', async () => {
    const { trust } = await fresh();
    const bytes = await artifact({});
    bytes.writeUInt8((bytes.readUInt8(bytes.length - 3000) ^ 0xff) & 0xff, bytes.length - 3000);
    const reader = await trust.openVerified(bufferSource(bytes), device);
    assert.equal(await code(reader.verifyPayloads()), 'SLW_ARTIFACT_HASH_MISMATCH');
  });

  test('a trusted root that has expired refuses every artifact until a newer root is followed (freeze attack)', async () => {
    const state = join(dir, `state-${++n}`);
    await mkdir(state);
    const stale = join(dir, `stale-root-${n}.json`);
    await writeFile(stale, await root(1, [root1], [release], [root1], new Date(Date.now() - 1000)));
    const trust = new DeviceTrust(state, stale);
    assert.equal(await code(trust.openVerified(bufferSource(await artifact({ securityVersion: 3 })), device)), 'SLW_TRUST_ROOT_EXPIRED');
  });

  test('the installed security version never goes down', async () => {
    const { trust } = await fresh();
    await trust.recordInstalled({ name: 'gateway-os', version: '3.0', securityVersion: 5, installedAt: new Date().toISOString() });
    await trust.recordInstalled({ name: 'gateway-os', version: '3.1', securityVersion: 4, installedAt: new Date().toISOString() });
    assert.equal((await trust.installed())?.securityVersion, 5);
  });
});

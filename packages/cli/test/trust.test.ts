import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, generateKey, type KeyFiles, makeRoot } from './support/fixtures.js';
import { assertFails, assertOk, parseJson, type Scratch, scratch, slipway } from './support/run.js';

interface InspectedRoot {
  version: number;
  expires: string;
  expired: boolean;
  roles: Record<'root' | 'release', { threshold: number; keys: { keyId: string; scheme: string }[] }>;
  signatures: { keyId: string; validRootSignature: boolean }[];
}

async function inspect(path: string, now?: Date): Promise<InspectedRoot> {
  const result = await slipway(['trust', 'inspect', path, '--json'], now ? { now } : {});
  assertOk(result);
  return parseJson<InspectedRoot>(result);
}

describe('slipway trust', () => {
  let s: Scratch;
  let rootA: KeyFiles;
  let rootB: KeyFiles;
  let rootC: KeyFiles;
  let release1: KeyFiles;
  let release2: KeyFiles;
  before(async () => {
    s = await scratch();
    rootA = await generateKey(s, 'root-a');
    rootB = await generateKey(s, 'root-b', 'ecdsa-p256');
    rootC = await generateKey(s, 'root-c');
    release1 = await generateKey(s, 'release-1', 'ecdsa-p256');
    release2 = await generateKey(s, 'release-2');
  });
  after(() => s.cleanup());

  test('init writes an unsigned root that verify refuses until a root key signs it in place', async () => {
    const out = s.path('basic.json');
    const init = await slipway(['trust', 'init', '--root-key', rootA.pub, '--release-key', release1.pub, '--out', out, '--json']);
    assertOk(init);
    assert.deepEqual(parseJson(init).signed, false);
    assertFails(await slipway(['trust', 'verify', out]), 'SLW_TRUST_ROOT_THRESHOLD');

    const signed = await slipway(['trust', 'sign', out, '--key', rootA.key, '--json']);
    assertOk(signed);
    assert.equal(parseJson<{ keyId: string }>(signed).keyId, rootA.keyId);
    const verified = await slipway(['trust', 'verify', out, '--json']);
    assertOk(verified);
    const data = parseJson<{ valid: boolean; version: number; signedBy: string[] }>(verified);
    assert.equal(data.valid, true);
    assert.equal(data.version, 1);
    assert.deepEqual(data.signedBy, [rootA.keyId]);
  });

  test('init names every repeated --root-key and --release-key with the thresholds, expiry and version given', async () => {
    const now = new Date('2026-03-01T00:00:00Z');
    const out = await makeRoot(s, 'many.json', {
      rootKeys: [rootA, rootB, rootC],
      releaseKeys: [release1, release2],
      extraArgs: ['--root-threshold', '2', '--release-threshold', '2', '--expires', '365d', '--version', '7'],
      signedBy: [],
      now,
    });
    const root = await inspect(out, now);
    assert.equal(root.version, 7);
    assert.equal(root.expires, '2027-03-01T00:00:00Z');
    assert.equal(root.roles.root.threshold, 2);
    assert.equal(root.roles.release.threshold, 2);
    assert.deepEqual(
      root.roles.root.keys.map((k) => k.keyId),
      [rootA.keyId, rootB.keyId, rootC.keyId],
    );
    assert.deepEqual(
      root.roles.release.keys.map((k) => k.keyId),
      [release1.keyId, release2.keyId],
    );
    assert.deepEqual(
      root.roles.root.keys.map((k) => k.scheme),
      ['ed25519', 'ecdsa-p256-sha256', 'ed25519'],
    );
  });

  test('verify exits 0 only once the root threshold of signatures is met', async () => {
    const out = await makeRoot(s, 'two-of-three.json', {
      rootKeys: [rootA, rootB, rootC],
      releaseKeys: [release1],
      extraArgs: ['--root-threshold', '2'],
      signedBy: [rootB],
    });
    assertFails(await slipway(['trust', 'verify', out]), 'SLW_TRUST_ROOT_THRESHOLD');
    // Re-signing with the same key replaces its signature: it still counts once.
    assertOk(await slipway(['trust', 'sign', out, '--key', rootB.key]));
    assertFails(await slipway(['trust', 'verify', out]), 'SLW_TRUST_ROOT_THRESHOLD');
    // A release key's signature is not a root signature.
    assertOk(await slipway(['trust', 'sign', out, '--key', release1.key]));
    assertFails(await slipway(['trust', 'verify', out]), 'SLW_TRUST_ROOT_THRESHOLD');
    assertOk(await slipway(['trust', 'sign', out, '--key', rootC.key]));
    assertOk(await slipway(['trust', 'verify', out]));
  });

  test('rejects a root whose signed body was edited after signing (swapped release threshold)', async () => {
    const out = await makeRoot(s, 'edited.json', {
      rootKeys: [rootA],
      releaseKeys: [release1, release2],
      extraArgs: ['--release-threshold', '2'],
    });
    assertOk(await slipway(['trust', 'verify', out]));
    const envelope = JSON.parse(await readFile(out, 'utf8')) as { payload: string };
    const body = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { roles: { release: { threshold: number } } };
    body.roles.release.threshold = 1;
    envelope.payload = Buffer.from(JSON.stringify(body, null, 2)).toString('base64');
    await writeFile(out, JSON.stringify(envelope));
    assertFails(await slipway(['trust', 'verify', out]), 'SLW_TRUST_ROOT_THRESHOLD');
  });

  describe('rotation with --previous', () => {
    let v1: string;
    before(async () => {
      v1 = await makeRoot(s, 'rot-v1.json', { rootKeys: [rootA], releaseKeys: [release1] });
    });

    async function v2(name: string, signedBy: readonly KeyFiles[], version = '2'): Promise<string> {
      return makeRoot(s, name, { rootKeys: [rootB], releaseKeys: [release2], extraArgs: ['--version', version], signedBy });
    }

    test('accepts version 2 signed by the old and the new root keys', async () => {
      const next = await v2('rot-v2-both.json', [rootA, rootB]);
      const result = await slipway(['trust', 'verify', next, '--previous', v1, '--json']);
      assertOk(result);
      const data = parseJson<{ valid: boolean; rotation: boolean; version: number }>(result);
      assert.deepEqual([data.valid, data.rotation, data.version], [true, true, 2]);
    });

    test('refuses version 2 signed only by the new root key (SLW_TRUST_ROOT_OLD_THRESHOLD)', async () => {
      const next = await v2('rot-v2-new-only.json', [rootB]);
      assertOk(await slipway(['trust', 'verify', next]), 'on its own it is a valid root');
      assertFails(await slipway(['trust', 'verify', next, '--previous', v1]), 'SLW_TRUST_ROOT_OLD_THRESHOLD');
    });

    test('refuses version 2 signed only by the old root key (SLW_TRUST_ROOT_THRESHOLD)', async () => {
      const next = await v2('rot-v2-old-only.json', [rootA]);
      assertFails(await slipway(['trust', 'verify', next, '--previous', v1]), 'SLW_TRUST_ROOT_THRESHOLD');
    });

    test('refuses a fast-forward from version 1 to version 3 (SLW_TRUST_ROOT_VERSION)', async () => {
      const v3 = await v2('rot-v3.json', [rootA, rootB], '3');
      assertFails(await slipway(['trust', 'verify', v3, '--previous', v1]), 'SLW_TRUST_ROOT_VERSION');
    });

    test('refuses a rotation from a previous root that its own keys never signed (SLW_TRUST_ROOT_THRESHOLD)', async () => {
      const unsignedV1 = await makeRoot(s, 'rot-v1-unsigned.json', { rootKeys: [rootA], releaseKeys: [release1], signedBy: [] });
      const next = await v2('rot-v2-from-unsigned.json', [rootA, rootB]);
      assertFails(await slipway(['trust', 'verify', next, '--previous', unsignedV1]), 'SLW_TRUST_ROOT_THRESHOLD');
    });

    test('accepts a rotation away from a previous root that has since expired', async () => {
      const created = new Date(Date.now() - 30 * DAY_MS);
      const oldV1 = await makeRoot(s, 'rot-v1-expired.json', {
        rootKeys: [rootA],
        releaseKeys: [release1],
        extraArgs: ['--expires', '7d'],
        now: created,
      });
      const next = await v2('rot-v2-from-expired.json', [rootA, rootB]);
      assertOk(await slipway(['trust', 'verify', next, '--previous', oldV1]));
    });

    test('refuses a replay of the same version as a rotation (SLW_TRUST_ROOT_VERSION)', async () => {
      assertFails(await slipway(['trust', 'verify', v1, '--previous', v1]), 'SLW_TRUST_ROOT_VERSION');
    });
  });

  test('refuses an expired root in verify (freeze attack) but still shows it in inspect', async () => {
    const created = new Date(Date.now() - 30 * DAY_MS);
    const out = await makeRoot(s, 'expired.json', {
      rootKeys: [rootA],
      releaseKeys: [release1],
      extraArgs: ['--expires', '1d'],
      now: created,
    });
    assertOk(await slipway(['trust', 'verify', out], { now: created }), 'valid on the day it was made');
    assertFails(await slipway(['trust', 'verify', out]), 'SLW_TRUST_ROOT_EXPIRED');

    const text = await slipway(['trust', 'inspect', out]);
    assertOk(text);
    assert.match(text.stdout, /EXPIRED/);
    assert.match(text.stdout, /valid root signature/);
    const root = await inspect(out);
    assert.equal(root.expired, true);
    assert.deepEqual(root.signatures, [{ keyId: rootA.keyId, validRootSignature: true }]);
  });

  test('inspect marks a current root as not expired and counts no signatures on an unsigned one', async () => {
    const out = await makeRoot(s, 'fresh.json', { rootKeys: [rootA], releaseKeys: [release1], signedBy: [] });
    const root = await inspect(out);
    assert.equal(root.expired, false);
    assert.deepEqual(root.signatures, []);
    assert.doesNotMatch((await slipway(['trust', 'inspect', out])).stdout, /EXPIRED/);
  });

  test('refuses a threshold larger than the keys of its role (SLW_TRUST_THRESHOLD_INVALID) and writes nothing', async () => {
    for (const [flag, value] of [
      ['--root-threshold', '2'],
      ['--release-threshold', '3'],
    ] as const) {
      const out = s.path(`threshold-${flag}.json`);
      const result = await slipway(['trust', 'init', '--root-key', rootA.pub, '--release-key', release1.pub, flag, value, '--out', out]);
      assertFails(result, 'SLW_TRUST_THRESHOLD_INVALID');
      await assert.rejects(stat(out), { code: 'ENOENT' });
    }
  });

  test('refuses a zero threshold, a version 0 and an expiry in the past as usage errors', async () => {
    const base = ['trust', 'init', '--root-key', rootA.pub, '--release-key', release1.pub, '--out', s.path('bad.json')];
    assertFails(await slipway([...base, '--root-threshold', '0']), 'SLW_USAGE_INVALID_OPTION');
    assertFails(await slipway([...base, '--version', '0']), 'SLW_USAGE_INVALID_OPTION');
    assertFails(await slipway([...base, '--expires', 'soon']), 'SLW_USAGE_INVALID_OPTION');
    assertFails(await slipway([...base, '--expires', '2001-01-01T00:00:00Z']), 'SLW_TRUST_EXPIRY_INVALID');
  });

  test('refuses a key that is both a root key and a release key', async () => {
    const result = await slipway(['trust', 'init', '--root-key', rootA.pub, '--release-key', rootA.pub, '--out', s.path('overlap.json')]);
    assertFails(result, 'SLW_TRUST_KEY_ROLE_OVERLAP');
  });

  test('refuses to sign with a private key file readable by others (SLW_KEY_PERMISSIONS) and leaves the root untouched', async () => {
    const out = await makeRoot(s, 'perm.json', { rootKeys: [rootA], releaseKeys: [release1], signedBy: [] });
    const before = await readFile(out);
    const leaky = await generateKey(s, 'leaky');
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(leaky.key, mode);
      assertFails(await slipway(['trust', 'sign', out, '--key', leaky.key]), 'SLW_KEY_PERMISSIONS');
    }
    assert.deepEqual(await readFile(out), before);
    await chmod(leaky.key, 0o400);
    assertOk(await slipway(['trust', 'sign', out, '--key', leaky.key]), 'read-only for the owner is fine');
  });
});

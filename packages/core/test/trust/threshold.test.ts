import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  buildRoot,
  PAYLOAD_TYPE_MANIFEST,
  PAYLOAD_TYPE_ROOT,
  type ParsedRoot,
  type Signature,
  signPayload,
  toTimestamp,
  validSigners,
} from '../../src/index.js';
import {
  DAY_MS,
  makeArtifact,
  makeKey,
  makeTrustedRoot,
  NOW,
  readAll,
  scratchDir,
  slipwayError,
  type TestKey,
} from '../support/fixtures.js';

const BODY = Buffer.from('{"type":"slipway-artifact","name":"gateway-os"}\n');

describe('signature thresholds', () => {
  let rootKey: TestKey;
  let releaseKeys: [TestKey, TestKey, TestKey];
  let outsider: TestKey;
  let ecdsaRelease: TestKey;
  /** 2-of-3 release keys (one of them ECDSA, whose signatures are randomized), 1-of-1 root key. */
  let root: ParsedRoot;

  before(() => {
    rootKey = makeKey();
    releaseKeys = [makeKey(), makeKey(), makeKey()];
    ecdsaRelease = makeKey('ecdsa-p256');
    outsider = makeKey();
    root = buildRoot({
      version: 1,
      expires: toTimestamp(new Date(NOW.getTime() + 365 * DAY_MS)),
      rootKeys: [rootKey.signer.publicKey],
      releaseKeys: [...releaseKeys, ecdsaRelease].map((k) => k.signer.publicKey),
      rootThreshold: 1,
      releaseThreshold: 2,
    });
  });

  function signedBy(keys: readonly TestKey[], body: Uint8Array = BODY): Promise<Signature[]> {
    return Promise.all(keys.map((k) => signPayload(k.signer, PAYLOAD_TYPE_MANIFEST, body)));
  }

  function releaseSigners(signatures: readonly Signature[]): Set<string> {
    return validSigners(root.keys, root.roles.release, PAYLOAD_TYPE_MANIFEST, BODY, signatures);
  }

  test('counts each distinct release key that validly signed', async () => {
    const [a, b, c] = releaseKeys;
    assert.deepEqual(releaseSigners(await signedBy([a])), new Set([a.keyId]));
    assert.deepEqual(releaseSigners(await signedBy([a, b])), new Set([a.keyId, b.keyId]));
    assert.deepEqual(releaseSigners(await signedBy([c, a, b])), new Set([a.keyId, b.keyId, c.keyId]));
    assert.equal(releaseSigners([]).size, 0);
  });

  test('a key that signed twice counts once (key compromise: one signature short of the threshold)', async () => {
    const [a] = releaseKeys;
    // Ed25519 repeats the same signature; ECDSA makes two different valid ones. Neither counts twice.
    const twiceEd = await signedBy([a, a]);
    assert.equal(twiceEd.length, 2);
    assert.deepEqual(releaseSigners(twiceEd), new Set([a.keyId]));
    const twiceEc = await signedBy([ecdsaRelease, ecdsaRelease, ecdsaRelease]);
    assert.notEqual(twiceEc[0]?.sig, twiceEc[1]?.sig);
    const signers = releaseSigners(twiceEc);
    assert.deepEqual(signers, new Set([ecdsaRelease.keyId]));
    assert.ok(signers.size < root.roles.release.threshold);
  });

  test('signatures by a key the root does not list count for nothing', async () => {
    const [a] = releaseKeys;
    assert.equal(releaseSigners(await signedBy([outsider])).size, 0);
    assert.deepEqual(releaseSigners(await signedBy([a, outsider])), new Set([a.keyId]));
  });

  test('a root key cannot stand in for a release key: its signature over a manifest counts for nothing', async () => {
    const [a] = releaseKeys;
    assert.ok(root.keys.has(rootKey.keyId), 'the root key is in the root');
    assert.equal(releaseSigners(await signedBy([rootKey])).size, 0);
    assert.deepEqual(releaseSigners(await signedBy([a, rootKey])), new Set([a.keyId]));
  });

  test('a release key cannot stand in for a root key: its signature over a root counts for nothing', async () => {
    const [a, b] = releaseKeys;
    const signatures = await Promise.all([a, b].map((k) => signPayload(k.signer, PAYLOAD_TYPE_ROOT, root.envelope.payload)));
    assert.equal(validSigners(root.keys, root.roles.root, PAYLOAD_TYPE_ROOT, root.envelope.payload, signatures).size, 0);
  });

  test('invalid signatures by role keys do not count', async () => {
    const [a, b] = releaseKeys;
    const overOtherBytes = await signedBy([b], Buffer.from('another manifest'));
    const forged: Signature = { keyid: a.keyId, sig: randomBytes(64).toString('base64') };
    const garbage: Signature = { keyid: b.keyId, sig: '%%%' };
    const wrongType = await Promise.all([b].map((k) => signPayload(k.signer, PAYLOAD_TYPE_ROOT, BODY)));
    assert.equal(releaseSigners([...overOtherBytes, forged, garbage, ...wrongType]).size, 0);
  });

  test('a valid signature still counts after an invalid one by the same key', async () => {
    const [a] = releaseKeys;
    const forged: Signature = { keyid: a.keyId, sig: randomBytes(64).toString('base64') };
    const [valid] = await signedBy([a]);
    assert.ok(valid);
    assert.deepEqual(releaseSigners([forged, valid]), new Set([a.keyId]));
    assert.deepEqual(releaseSigners([valid, forged]), new Set([a.keyId]));
  });

  test('a signature labelled with another role key ID does not count for either key', async () => {
    const [a, b] = releaseKeys;
    const [byA] = await signedBy([a]);
    assert.ok(byA);
    assert.equal(releaseSigners([{ keyid: b.keyId, sig: byA.sig }]).size, 0);
  });

  describe('on a real artifact', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    before(async () => ({ dir, cleanup } = await scratchDir()));
    after(() => cleanup());

    test('an artifact signed by a root key alone is refused (a root key is not a release key)', async () => {
      const root = makeKey();
      const release = makeKey();
      const trust = await makeTrustedRoot({ rootKeys: [root], releaseKeys: [release] });
      const byRootKey = await makeArtifact(dir, { contents: [randomBytes(1000)], signers: [root] });
      await assert.rejects(readAll(byRootKey.bytes, trust), slipwayError('SLW_ARTIFACT_SIGNATURE_INVALID'));
      const byReleaseKey = await makeArtifact(dir, { contents: [randomBytes(1000)], signers: [release] });
      assert.equal((await readAll(byReleaseKey.bytes, trust)).length, 1);
    });

    test('an artifact signed by one of two required release keys is refused (key compromise: one signature short of the threshold)', async () => {
      const [a, b] = [makeKey(), makeKey()];
      const trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [a, b], releaseThreshold: 2 });
      const one = await makeArtifact(dir, { contents: [randomBytes(1000)], signers: [a] });
      await assert.rejects(readAll(one.bytes, trust), slipwayError('SLW_ARTIFACT_SIGNATURE_INVALID'));
      const both = await makeArtifact(dir, { contents: [randomBytes(1000)], signers: [a, b] });
      assert.equal((await readAll(both.bytes, trust)).length, 1);
    });
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  buildRoot,
  type ParsedRoot,
  parseRoot,
  serializeEnvelope,
  type TrustedRoot,
  toTimestamp,
  verifyRoot,
  verifyRootRotation,
  verifyRootStep,
  walkRootChain,
} from '../../src/index.js';
import { DAY_MS, makeKey, makeRootBytes, makeTrustedRoot, NOW, type RootOptions, slipwayError, type TestKey } from '../support/fixtures.js';

const OPTIONS = { now: NOW };

function keyIds(keys: readonly TestKey[]): string[] {
  return keys.map((k) => k.keyId);
}

async function parsed(options: RootOptions): Promise<ParsedRoot> {
  return parseRoot(await makeRootBytes(options));
}

describe('verifying a root as a trust anchor', () => {
  let rootKeys: [TestKey, TestKey, TestKey];
  let releaseKey: TestKey;
  before(() => {
    rootKeys = [makeKey(), makeKey(), makeKey()];
    releaseKey = makeKey();
  });

  /** A 2-of-3 root signed by `signedBy`. */
  function twoOfThree(signedBy: readonly TestKey[], extra: Partial<RootOptions> = {}): Promise<ParsedRoot> {
    return parsed({ rootKeys, releaseKeys: [releaseKey], rootThreshold: 2, signedBy, ...extra });
  }

  test('a root signed by a threshold of its own root keys is trusted, naming the keys that counted', async () => {
    const [a, , c] = rootKeys;
    const trusted = verifyRoot(await twoOfThree([a, c]), OPTIONS);
    assert.equal(trusted.trusted, true);
    assert.equal(trusted.version, 1);
    assert.deepEqual([...trusted.signedBy].sort(), keyIds([a, c]).sort());
    assert.deepEqual([...verifyRoot(await twoOfThree(rootKeys), OPTIONS).signedBy].sort(), keyIds(rootKeys).sort());
  });

  test('an unsigned root is not trusted', async () => {
    await assert.rejects(async () => verifyRoot(await twoOfThree([]), OPTIONS), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
  });

  test('a root one signature short of its root threshold is not trusted (key compromise: one signature short of the threshold)', async () => {
    const [a] = rootKeys;
    await assert.rejects(async () => verifyRoot(await twoOfThree([a]), OPTIONS), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
    // Signing twice with the one compromised key does not make two signatures.
    await assert.rejects(async () => verifyRoot(await twoOfThree([a, a]), OPTIONS), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
  });

  test('a root signed by a release key instead of a root key is not trusted', async () => {
    const [a] = rootKeys;
    await assert.rejects(async () => verifyRoot(await twoOfThree([a, releaseKey]), OPTIONS), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
  });

  test('a root signed by keys it does not list is not trusted', async () => {
    const [a] = rootKeys;
    await assert.rejects(
      async () => verifyRoot(await twoOfThree([a, makeKey(), makeKey()]), OPTIONS),
      slipwayError('SLW_TRUST_ROOT_THRESHOLD'),
    );
  });

  test('signatures lifted from one root onto a doctored body do not count (mix-and-match attack)', async () => {
    const genuine = await twoOfThree(rootKeys);
    const attacker = makeKey();
    const doctored = buildRoot({
      version: 1,
      expires: toTimestamp(new Date(NOW.getTime() + 365 * DAY_MS)),
      rootKeys: rootKeys.map((k) => k.signer.publicKey),
      releaseKeys: [attacker.signer.publicKey],
      rootThreshold: 2,
      releaseThreshold: 1,
    });
    const grafted = parseRoot(Buffer.from(serializeEnvelope({ ...doctored.envelope, signatures: genuine.envelope.signatures })));
    assert.throws(() => verifyRoot(grafted, OPTIONS), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
  });

  test('an expired root is refused (freeze attack)', async () => {
    const expired = await twoOfThree(rootKeys, { expires: new Date(NOW.getTime() - DAY_MS) });
    assert.throws(() => verifyRoot(expired, OPTIONS), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
    // The same root was trusted while it was current.
    assert.equal(verifyRoot(expired, { now: new Date(NOW.getTime() - 2 * DAY_MS) }).version, 1);
  });

  test('a root expires at the instant its expiry names, not a second later (freeze attack)', async () => {
    const root = await twoOfThree(rootKeys, { expires: NOW });
    assert.throws(() => verifyRoot(root, OPTIONS), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
    assert.equal(verifyRoot(root, { now: new Date(NOW.getTime() - 1000) }).version, 1);
  });

  test('allowExpired shows an expired root, but its signatures must still meet the threshold', async () => {
    const expires = new Date(NOW.getTime() - DAY_MS);
    const [a] = rootKeys;
    assert.equal(verifyRoot(await twoOfThree(rootKeys, { expires }), { now: NOW, allowExpired: true }).version, 1);
    await assert.rejects(
      async () => verifyRoot(await twoOfThree([a], { expires }), { now: NOW, allowExpired: true }),
      slipwayError('SLW_TRUST_ROOT_THRESHOLD'),
    );
  });
});

describe('rotating the root (TUF 5.3.4-5.3.10)', () => {
  let oldKeys: [TestKey, TestKey, TestKey];
  let newKeys: [TestKey, TestKey, TestKey];
  let releaseKey: TestKey;
  /** Version 1: 2-of-3 of oldKeys. */
  let v1: TrustedRoot;

  before(async () => {
    oldKeys = [makeKey(), makeKey(), makeKey()];
    newKeys = [makeKey(), makeKey(), makeKey()];
    releaseKey = makeKey();
    v1 = await makeTrustedRoot({ rootKeys: oldKeys, releaseKeys: [releaseKey], rootThreshold: 2 });
  });

  /** A 2-of-3 root of `newKeys` at `version`, signed by `signedBy`. */
  function next(version: number, signedBy: readonly TestKey[], extra: Partial<RootOptions> = {}): Promise<ParsedRoot> {
    return parsed({ version, rootKeys: newKeys, releaseKeys: [releaseKey], rootThreshold: 2, signedBy, ...extra });
  }

  test('version N+1 signed by a threshold of the old and a threshold of the new root keys is accepted', async () => {
    const [o1, o2] = oldKeys;
    const [n1, , n3] = newKeys;
    const v2 = await next(2, [o1, o2, n1, n3]);
    assert.deepEqual([...verifyRootStep(v1, v2)].sort(), keyIds([n1, n3]).sort());
    const trusted = verifyRootRotation(v1, v2, OPTIONS);
    assert.equal(trusted.trusted, true);
    assert.equal(trusted.version, 2);
    assert.deepEqual(trusted.roles.root.keyIds, keyIds(newKeys));
  });

  test('a root whose version skips ahead is refused (fast-forward attack)', async () => {
    const v3 = await next(3, [...oldKeys, ...newKeys]);
    assert.throws(() => verifyRootStep(v1, v3), slipwayError('SLW_TRUST_ROOT_VERSION'));
    assert.throws(() => verifyRootRotation(v1, v3, OPTIONS), slipwayError('SLW_TRUST_ROOT_VERSION'));
    assert.throws(() => walkRootChain(v1, [serializeRoot(v3)], OPTIONS), slipwayError('SLW_TRUST_ROOT_VERSION'));
  });

  test('a root with the same version as the trusted one is refused (rollback attack)', async () => {
    const sameVersion = await next(1, [...oldKeys, ...newKeys]);
    assert.throws(() => verifyRootStep(v1, sameVersion), slipwayError('SLW_TRUST_ROOT_VERSION'));
    // Not even the trusted root itself is accepted again as a "new" root.
    assert.throws(() => verifyRootStep(v1, v1), slipwayError('SLW_TRUST_ROOT_VERSION'));
  });

  test('a root with a lower version than the trusted one is refused (rollback attack)', async () => {
    const [o1, o2] = oldKeys;
    const v5 = await parsed({ version: 5, rootKeys: oldKeys, releaseKeys: [releaseKey], rootThreshold: 2, signedBy: [o1, o2] });
    const v4 = await parsed({ version: 4, rootKeys: oldKeys, releaseKeys: [releaseKey], rootThreshold: 2, signedBy: [o1, o2] });
    assert.throws(() => verifyRootStep(v5, v4), slipwayError('SLW_TRUST_ROOT_VERSION'));
    assert.throws(() => verifyRootRotation(v5, v4, OPTIONS), slipwayError('SLW_TRUST_ROOT_VERSION'));
  });

  test('a new root signed only by the old root keys is refused: the new keys must prove they are held', async () => {
    const v2 = await next(2, oldKeys);
    assert.throws(() => verifyRootStep(v1, v2), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
    assert.throws(() => verifyRootRotation(v1, v2, OPTIONS), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
  });

  test('a new root signed only by the new root keys is refused (key compromise: an attacker names their own keys)', async () => {
    const v2 = await next(2, newKeys);
    assert.throws(() => verifyRootStep(v1, v2), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
    assert.throws(() => verifyRootRotation(v1, v2, OPTIONS), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
  });

  test('a new root one old signature short is refused (key compromise: one signature short of the threshold)', async () => {
    const [o1] = oldKeys;
    const v2 = await next(2, [o1, o1, ...newKeys]);
    assert.throws(() => verifyRootStep(v1, v2), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
  });

  test('a new root signed by the old release key in place of old root keys is refused', async () => {
    const [o1] = oldKeys;
    const v2 = await next(2, [o1, releaseKey, ...newKeys]);
    assert.throws(() => verifyRootStep(v1, v2), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
  });

  test('a new root that keeps some root keys needs both thresholds, and one signature may count toward both', async () => {
    const [o1, o2, o3] = oldKeys;
    const [n1] = newKeys;
    // Version 2 keeps o1 and o2 and adds n1, 2-of-3: o1 and o2 sign for both the old and the new root.
    const v2 = await parsed({ version: 2, rootKeys: [o1, o2, n1], releaseKeys: [releaseKey], rootThreshold: 2, signedBy: [o1, o2] });
    assert.equal(verifyRootRotation(v1, v2, OPTIONS).version, 2);
    const byDroppedAndNew = await parsed({
      version: 2,
      rootKeys: [o1, o2, n1],
      releaseKeys: [releaseKey],
      rootThreshold: 2,
      signedBy: [o3, n1],
    });
    assert.throws(() => verifyRootStep(v1, byDroppedAndNew), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
  });

  test('an expired new root is refused by verifyRootRotation (freeze attack) unless allowExpired', async () => {
    const v2 = await next(2, [...oldKeys, ...newKeys], { expires: new Date(NOW.getTime() - DAY_MS) });
    assert.deepEqual(verifyRootStep(v1, v2).size, 3, 'the step itself ignores expiry');
    assert.throws(() => verifyRootRotation(v1, v2, OPTIONS), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
    assert.equal(verifyRootRotation(v1, v2, { now: NOW, allowExpired: true }).version, 2);
  });

  describe('changing thresholds', () => {
    test('rotating 1-of-1 to 2-of-3 needs the old key and two of the three new keys', async () => {
      const single = makeKey();
      const trusted = await makeTrustedRoot({ rootKeys: [single], releaseKeys: [releaseKey] });
      const [n1, n2] = newKeys;
      const candidate = (signedBy: readonly TestKey[]) => next(2, signedBy);
      assert.equal(verifyRootRotation(trusted, await candidate([single, n1, n2]), OPTIONS).version, 2);
      // The old threshold (1) of the old key is met, but not the new threshold (2) of the new keys.
      const oneNew = await candidate([single, n1]);
      assert.throws(() => verifyRootStep(trusted, oneNew), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
      // All three new keys, but not the old one.
      const noOld = await candidate(newKeys);
      assert.throws(() => verifyRootStep(trusted, noOld), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
    });

    test('rotating 2-of-3 to 1-of-1 needs two of the three old keys and the new key', async () => {
      const single = makeKey();
      const [o1, o2] = oldKeys;
      const candidate = (signedBy: readonly TestKey[]) =>
        parsed({ version: 2, rootKeys: [single], releaseKeys: [releaseKey], rootThreshold: 1, signedBy });
      assert.equal(verifyRootRotation(v1, await candidate([o1, o2, single]), OPTIONS).version, 2);
      // The new threshold (1) is met, but only one of the two old signatures needed.
      const oneOld = await candidate([o1, single]);
      assert.throws(() => verifyRootStep(v1, oneOld), slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'));
      // Both old signatures, but the new key did not sign.
      const noNew = await candidate([o1, o2]);
      assert.throws(() => verifyRootStep(v1, noNew), slipwayError('SLW_TRUST_ROOT_THRESHOLD'));
    });
  });

  describe('walking a chain of roots', () => {
    let thirdKeys: [TestKey, TestKey];
    let v2: ParsedRoot;
    let v3: ParsedRoot;
    before(async () => {
      thirdKeys = [makeKey(), makeKey()];
      v2 = await next(2, [...oldKeys, ...newKeys]);
      v3 = await parsed({
        version: 3,
        rootKeys: thirdKeys,
        releaseKeys: [makeKey()],
        rootThreshold: 2,
        signedBy: [...newKeys, ...thirdKeys],
      });
    });

    test('a chain 1 -> 2 -> 3 with full key turnover walks to version 3', () => {
      const v1Keys = new Set(v1.roles.root.keyIds);
      assert.ok(
        v3.roles.root.keyIds.every((id) => !v1Keys.has(id)),
        'root 3 shares no root key with root 1',
      );
      assert.ok(
        [...v3.keys.keys()].every((id) => !v1.keys.has(id)),
        'root 3 shares no key at all with root 1',
      );
      const trusted = walkRootChain(v1, [serializeRoot(v2), serializeRoot(v3)], OPTIONS);
      assert.equal(trusted.trusted, true);
      assert.equal(trusted.version, 3);
      assert.deepEqual([...trusted.signedBy].sort(), keyIds(thirdKeys).sort());
      assert.deepEqual(trusted.roles.root.keyIds, keyIds(thirdKeys));
    });

    test('root 3 cannot be reached from root 1 directly, even signed by every key involved (fast-forward attack)', async () => {
      const direct = await parsed({
        version: 3,
        rootKeys: thirdKeys,
        releaseKeys: [releaseKey],
        rootThreshold: 2,
        signedBy: [...oldKeys, ...newKeys, ...thirdKeys],
      });
      assert.throws(() => walkRootChain(v1, [serializeRoot(direct)], OPTIONS), slipwayError('SLW_TRUST_ROOT_VERSION'));
    });

    test('a chain given out of order is refused', () => {
      assert.throws(() => walkRootChain(v1, [serializeRoot(v3), serializeRoot(v2)], OPTIONS), slipwayError('SLW_TRUST_ROOT_VERSION'));
    });

    test('an empty chain leaves the trusted root as it is, if it is still current', () => {
      assert.equal(walkRootChain(v1, [], OPTIONS).version, 1);
      assert.throws(() => walkRootChain(v1, [], { now: new Date(v1.expiresMs) }), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
    });

    test('a chain with a bad middle link fails as a whole and leaves the trusted root untouched', async () => {
      // Version 2 signed only by its own new keys: the rotation 1 -> 2 is not authorized.
      const badV2 = await next(2, newKeys);
      const snapshot = {
        version: v1.version,
        signedBy: [...v1.signedBy],
        body: structuredClone(v1.body),
        payload: Buffer.from(v1.envelope.payload),
      };
      assert.throws(
        () => walkRootChain(v1, [serializeRoot(badV2), serializeRoot(v3)], OPTIONS),
        slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'),
      );
      assert.equal(v1.version, snapshot.version);
      assert.deepEqual([...v1.signedBy], snapshot.signedBy);
      assert.deepEqual(v1.body, snapshot.body);
      assert.ok(v1.envelope.payload.equals(snapshot.payload));
      // The good chain still walks from the same trusted root afterwards.
      assert.equal(walkRootChain(v1, [serializeRoot(v2), serializeRoot(v3)], OPTIONS).version, 3);
    });

    test('a chain whose last link is bad fails instead of stopping at the last good root', async () => {
      const badV3 = await parsed({ version: 3, rootKeys: thirdKeys, releaseKeys: [releaseKey], rootThreshold: 2, signedBy: thirdKeys });
      assert.throws(
        () => walkRootChain(v1, [serializeRoot(v2), serializeRoot(badV3)], OPTIONS),
        slipwayError('SLW_TRUST_ROOT_OLD_THRESHOLD'),
      );
    });

    test('a chain containing bytes that are not a root is refused', () => {
      assert.throws(() => walkRootChain(v1, [serializeRoot(v2), Buffer.from('{}')], OPTIONS), slipwayError('SLW_TRUST_ROOT_MALFORMED'));
    });

    test('an expired intermediate root is fine, but an expired final root is refused (freeze attack)', async () => {
      const expiredV2 = await next(2, [...oldKeys, ...newKeys], { expires: new Date(NOW.getTime() - 30 * DAY_MS) });
      const [t1, t2] = thirdKeys;
      const makeV3 = (expires: Date) =>
        parsed({ version: 3, rootKeys: thirdKeys, releaseKeys: [releaseKey], rootThreshold: 2, signedBy: [...newKeys, t1, t2], expires });
      const current = await makeV3(new Date(NOW.getTime() + DAY_MS));
      assert.equal(walkRootChain(v1, [serializeRoot(expiredV2), serializeRoot(current)], OPTIONS).version, 3);
      const expired = await makeV3(new Date(NOW.getTime() - DAY_MS));
      assert.throws(() => walkRootChain(v1, [serializeRoot(v2), serializeRoot(expired)], OPTIONS), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
      assert.throws(() => walkRootChain(v1, [serializeRoot(expiredV2)], OPTIONS), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
      assert.equal(walkRootChain(v1, [serializeRoot(v2), serializeRoot(expired)], { now: NOW, allowExpired: true }).version, 3);
    });

    test('a trusted root that has expired can still be rotated away from, as long as the new root is current', async () => {
      const expiringV1 = await makeTrustedRoot({
        rootKeys: oldKeys,
        releaseKeys: [releaseKey],
        rootThreshold: 2,
        expires: new Date(NOW.getTime() + DAY_MS),
      });
      const later = { now: new Date(NOW.getTime() + 10 * DAY_MS) };
      assert.throws(() => walkRootChain(expiringV1, [], later), slipwayError('SLW_TRUST_ROOT_EXPIRED'));
      assert.equal(walkRootChain(expiringV1, [serializeRoot(v2)], later).version, 2);
    });
  });
});

function serializeRoot(root: ParsedRoot): Buffer {
  return Buffer.from(serializeEnvelope(root.envelope));
}

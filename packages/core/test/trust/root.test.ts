import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  buildRoot,
  MAX_ROOT_BYTES,
  MAX_ROOT_KEYS,
  MAX_SIGNATURES,
  PAYLOAD_TYPE_MANIFEST,
  PAYLOAD_TYPE_ROOT,
  parseRoot,
  type RootBody,
  type RootSpec,
  type Signature,
  serializeEnvelope,
  signPayload,
  toTimestamp,
} from '../../src/index.js';
import { DAY_MS, makeKey, makeRootBytes, NOW, slipwayError, type TestKey } from '../support/fixtures.js';

const EXPIRES = toTimestamp(new Date(NOW.getTime() + 365 * DAY_MS));

/** Envelope bytes around any body, so tests can hand the parser what no builder would make. */
function envelopeBytes(body: unknown, signatures: readonly Signature[] = [], payloadType = PAYLOAD_TYPE_ROOT): Buffer {
  const payload = Buffer.from(`${JSON.stringify(body, null, 2)}\n`);
  return Buffer.from(serializeEnvelope({ payloadType, payload, signatures }));
}

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function idOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

describe('trust roots', () => {
  let rootKey: TestKey;
  let releaseKey: TestKey;
  let spareKey: TestKey;
  /** A valid 1-of-1 / 1-of-1 body that each test copies and breaks in one way. */
  let validBody: RootBody;

  before(() => {
    rootKey = makeKey();
    releaseKey = makeKey('ecdsa-p256');
    spareKey = makeKey();
    validBody = buildRoot(specWith({})).body;
  });

  function specWith(overrides: Partial<RootSpec>): RootSpec {
    return {
      version: 1,
      expires: EXPIRES,
      rootKeys: [rootKey.signer.publicKey],
      releaseKeys: [releaseKey.signer.publicKey],
      rootThreshold: 1,
      releaseThreshold: 1,
      ...overrides,
    };
  }

  /** A deep copy of the valid body, loosely typed so a test can add, drop or retype any field. */
  function bodyCopy(): Record<string, unknown> & RootBody {
    return structuredClone(validBody);
  }

  describe('parsing and serializing', () => {
    test('a signed root parses to its version, expiry, keys and roles', async () => {
      const bytes = await makeRootBytes({ version: 7, rootKeys: [rootKey], releaseKeys: [releaseKey, spareKey], releaseThreshold: 2 });
      const root = parseRoot(bytes);
      assert.equal(root.version, 7);
      assert.equal(root.expiresMs, Date.parse(EXPIRES));
      assert.deepEqual(root.roles.root, { keyIds: [rootKey.keyId], threshold: 1 });
      assert.deepEqual(root.roles.release, { keyIds: [releaseKey.keyId, spareKey.keyId], threshold: 2 });
      assert.deepEqual([...root.keys.keys()].sort(), [rootKey.keyId, releaseKey.keyId, spareKey.keyId].sort());
      assert.equal(root.keys.get(releaseKey.keyId)?.scheme, 'ecdsa-p256-sha256');
      assert.equal(root.envelope.payloadType, PAYLOAD_TYPE_ROOT);
      assert.equal(root.envelope.signatures.length, 1);
      assert.equal(root.envelope.signatures[0]?.keyid, rootKey.keyId);
    });

    test('serializing a parsed root gives back the exact bytes it was parsed from', async () => {
      const bytes = await makeRootBytes({ rootKeys: [rootKey], releaseKeys: [releaseKey] });
      assert.equal(serializeEnvelope(parseRoot(bytes).envelope), bytes.toString('utf8'));
    });

    test('buildRoot stores each key with its scheme and SPKI PEM under its key ID', () => {
      const root = buildRoot(specWith({}));
      assert.deepEqual(root.body.keys[releaseKey.keyId], { scheme: 'ecdsa-p256-sha256', publicKey: releaseKey.signer.publicKey.pem });
      assert.deepEqual(root.body.keys[rootKey.keyId], { scheme: 'ed25519', publicKey: rootKey.signer.publicKey.pem });
      assert.deepEqual(JSON.parse(root.envelope.payload.toString('utf8')), root.body);
      assert.equal(root.envelope.signatures.length, 0);
    });

    test('an unsigned root is well formed (signatures are checked by verification, not parsing)', () => {
      assert.equal(parseRoot(envelopeBytes(validBody)).version, 1);
    });
  });

  describe('malformed roots', () => {
    const bodyBreakers: readonly [string, (body: Record<string, unknown> & RootBody) => void][] = [
      ['an unknown top-level field', (b) => Object.assign(b, { targets: {} })],
      ['an unknown field in a key entry', (b) => Object.assign(Object.values(b.keys)[0] ?? {}, { keytype: 'ed25519' })],
      ['an unknown field in a role', (b) => Object.assign(b.roles.release, { paths: ['*'] })],
      ['an unknown role', (b) => Object.assign(b.roles, { timestamp: { keyids: [], threshold: 1 } })],
      ['no version', (b) => Reflect.deleteProperty(b, 'version')],
      ['no expiry', (b) => Reflect.deleteProperty(b, 'expires')],
      ['no keys', (b) => Reflect.deleteProperty(b, 'keys')],
      ['no roles', (b) => Reflect.deleteProperty(b, 'roles')],
      ['no release role', (b) => Reflect.deleteProperty(b.roles, 'release')],
      ['no type', (b) => Reflect.deleteProperty(b, 'type')],
      ['a wrong type', (b) => Object.assign(b, { type: 'slipway-artifact' })],
      ['spec version 2', (b) => Object.assign(b, { specVersion: 2 })],
      ['version 0', (b) => Object.assign(b, { version: 0 })],
      ['a fractional version', (b) => Object.assign(b, { version: 1.5 })],
      ['a version given as a string', (b) => Object.assign(b, { version: '1' })],
      ['an expiry on a date that does not exist (2026-02-31T00:00:00Z)', (b) => Object.assign(b, { expires: '2026-02-31T00:00:00Z' })],
      ['an expiry in month 13', (b) => Object.assign(b, { expires: '2026-13-01T00:00:00Z' })],
      ['an expiry at hour 24', (b) => Object.assign(b, { expires: '2026-11-24T24:00:00Z' })],
      ['an expiry with a local offset', (b) => Object.assign(b, { expires: '2026-11-24T12:00:00+01:00' })],
      ['an expiry without a time', (b) => Object.assign(b, { expires: '2027-11-24' })],
      ['an expiry as epoch seconds', (b) => Object.assign(b, { expires: 1_800_000_000 })],
      ['an empty release role', (b) => Object.assign(b.roles.release, { keyids: [] })],
      ['a fractional threshold', (b) => Object.assign(b.roles.root, { threshold: 1.5 })],
      ['a threshold of 0', (b) => Object.assign(b.roles.root, { threshold: 0 })],
      [
        'a key ID listed twice in one role',
        (b) => Object.assign(b.roles.release, { keyids: [...b.roles.release.keyids, ...b.roles.release.keyids] }),
      ],
      ['a keys entry under a name that is not a key ID', (b) => Object.assign(b.keys, { 'release-2027': null })],
      ['an unknown signature scheme', (b) => Object.assign(Object.values(b.keys)[0] ?? {}, { scheme: 'rsa-pkcs1-sha256' })],
      [
        'a key ID in upper case',
        (b) => {
          const [id, entry] = Object.entries(b.keys)[0] ?? [];
          if (id === undefined || entry === undefined) return;
          delete b.keys[id];
          b.keys[id.toUpperCase()] = entry;
        },
      ],
    ];
    for (const [what, breakBody] of bodyBreakers) {
      test(`a root with ${what} is malformed`, () => {
        const body = bodyCopy();
        breakBody(body);
        assert.notDeepEqual(body, validBody);
        assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_TRUST_ROOT_MALFORMED'));
      });
    }

    const envelopeBreakers: readonly [string, () => Buffer][] = [
      ['bytes that are not JSON', () => Buffer.from('{"payloadType": ')],
      ['a JSON array', () => Buffer.from('[]')],
      ['an empty file', () => Buffer.alloc(0)],
      ['the payload type of a manifest', () => envelopeBytes(validBody, [], PAYLOAD_TYPE_MANIFEST)],
      ['an unknown envelope field', () => withEnvelope((e) => Object.assign(e, { keyid_hash_algorithms: ['sha256'] }))],
      ['no signatures list', () => withEnvelope((e) => Reflect.deleteProperty(e, 'signatures'))],
      ['a payload that is not base64', () => withEnvelope((e) => Object.assign(e, { payload: '{"type":"slipway-root"}' }))],
      ['a payload that is not JSON', () => withEnvelope((e) => Object.assign(e, { payload: Buffer.from('not json').toString('base64') }))],
      [
        'a signature with an unknown field',
        () => withEnvelope((e) => Object.assign(e, { signatures: [{ keyid: rootKey.keyId, sig: 'AA==', method: 'x' }] })),
      ],
      [
        'a signature whose key ID is not hex',
        () => withEnvelope((e) => Object.assign(e, { signatures: [{ keyid: 'root-key', sig: 'AA==' }] })),
      ],
      [
        'a signature that is not base64',
        () => withEnvelope((e) => Object.assign(e, { signatures: [{ keyid: rootKey.keyId, sig: '%%' }] })),
      ],
    ];
    function withEnvelope(change: (envelope: Record<string, unknown>) => void): Buffer {
      const envelope = JSON.parse(envelopeBytes(validBody).toString('utf8')) as Record<string, unknown>;
      change(envelope);
      return Buffer.from(JSON.stringify(envelope));
    }
    for (const [what, make] of envelopeBreakers) {
      test(`a root file with ${what} is malformed`, () => {
        assert.throws(() => parseRoot(make()), slipwayError('SLW_TRUST_ROOT_MALFORMED'));
      });
    }

    test('a key listed under an ID that is not the SHA-256 of its SPKI is refused', () => {
      const body = bodyCopy();
      const entry = body.keys[rootKey.keyId];
      assert.ok(entry);
      // The root key's PEM under the spare key's ID: a substituted key cannot borrow a trusted ID.
      delete body.keys[rootKey.keyId];
      body.keys[spareKey.keyId] = entry;
      body.roles.root.keyids = [spareKey.keyId];
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_KEY_ID_MISMATCH'));
    });

    test('a key listed with a scheme other than its own is refused', () => {
      for (const [id, scheme] of [
        [rootKey.keyId, 'ecdsa-p256-sha256'],
        [releaseKey.keyId, 'ed25519'],
        [releaseKey.keyId, 'rsa-pss-sha256'],
      ] as const) {
        const body = bodyCopy();
        const entry = body.keys[id];
        assert.ok(entry);
        entry.scheme = scheme;
        assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_TRUST_ROOT_MALFORMED'), `${id} as ${scheme}`);
      }
    });

    test('a role naming a key the root does not list is refused', () => {
      const body = bodyCopy();
      body.roles.release.keyids = [releaseKey.keyId, spareKey.keyId];
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_TRUST_ROOT_MALFORMED'));
    });

    test('a threshold above the number of keys of its role is refused', () => {
      assert.throws(() => buildRoot(specWith({ rootThreshold: 2 })), slipwayError('SLW_TRUST_THRESHOLD_INVALID'));
      assert.throws(() => buildRoot(specWith({ releaseThreshold: 2 })), slipwayError('SLW_TRUST_THRESHOLD_INVALID'));
      const body = bodyCopy();
      body.roles.release.threshold = 2;
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_TRUST_THRESHOLD_INVALID'));
      // The same key named twice is one key: it cannot make a 2-of-2.
      assert.throws(
        () => buildRoot(specWith({ releaseKeys: [releaseKey.signer.publicKey, releaseKey.signer.publicKey], releaseThreshold: 2 })),
        slipwayError('SLW_TRUST_THRESHOLD_INVALID'),
      );
    });

    test('a threshold equal to the number of keys of its role is accepted', () => {
      const root = buildRoot(specWith({ releaseKeys: [releaseKey.signer.publicKey, spareKey.signer.publicKey], releaseThreshold: 2 }));
      assert.equal(parseRoot(envelopeBytes(root.body)).roles.release.threshold, 2);
    });

    test('a key that is both a root key and a release key is refused', () => {
      const both = specWith({ releaseKeys: [releaseKey.signer.publicKey, rootKey.signer.publicKey] });
      assert.throws(() => buildRoot(both), slipwayError('SLW_TRUST_KEY_ROLE_OVERLAP'));
      const body = bodyCopy();
      body.roles.release.keyids = [releaseKey.keyId, rootKey.keyId];
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_TRUST_KEY_ROLE_OVERLAP'));
    });

    test('a weak key inside a root is refused by key policy', () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      const body = bodyCopy();
      body.keys[idOf(weak)] = { scheme: 'rsa-pss-sha256', publicKey: spkiPem(weak) };
      body.roles.release.keyids = [releaseKey.keyId, idOf(weak)];
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_KEY_TOO_WEAK'));
    });

    test('a key of an unsupported type inside a root is refused, even when not named by a role', () => {
      const x25519 = generateKeyPairSync('x25519').publicKey;
      const body = bodyCopy();
      body.keys[idOf(x25519)] = { scheme: 'ed25519', publicKey: spkiPem(x25519) };
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_KEY_TYPE_UNSUPPORTED'));
    });

    test('a root carrying a private key where a public key belongs is refused', () => {
      const body = bodyCopy();
      const entry = body.keys[rootKey.keyId];
      assert.ok(entry);
      entry.publicKey = rootKey.privatePem;
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_KEY_INVALID'));
    });

    test('a root key whose PEM is garbage is refused', () => {
      const body = bodyCopy();
      const entry = body.keys[rootKey.keyId];
      assert.ok(entry);
      entry.publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_KEY_INVALID'));
    });

    test(`a root listing more than ${MAX_ROOT_KEYS} keys is refused`, () => {
      const body = bodyCopy();
      for (let i = 0; i < MAX_ROOT_KEYS; i++) {
        const key = makeKey().signer.publicKey;
        body.keys[key.keyId] = { scheme: key.scheme, publicKey: key.pem };
      }
      assert.equal(Object.keys(body.keys).length, MAX_ROOT_KEYS + 2);
      assert.throws(() => parseRoot(envelopeBytes(body)), slipwayError('SLW_TRUST_ROOT_MALFORMED'));
    });
  });

  describe('size and signature limits (endless data)', () => {
    test(`a root of more than ${MAX_ROOT_BYTES} bytes is refused before it is parsed`, async () => {
      const bytes = await makeRootBytes({ rootKeys: [rootKey], releaseKeys: [releaseKey] });
      // Trailing whitespace is valid JSON: at exactly the limit the root still parses.
      const atLimit = Buffer.concat([bytes, Buffer.alloc(MAX_ROOT_BYTES - bytes.length, ' ')]);
      assert.equal(parseRoot(atLimit).version, 1);
      const overLimit = Buffer.concat([atLimit, Buffer.from(' ')]);
      assert.throws(() => parseRoot(overLimit), slipwayError('SLW_TRUST_ROOT_TOO_LARGE'));
      assert.throws(
        () => parseRoot(Buffer.concat([randomBytes(MAX_ROOT_BYTES), Buffer.from('x')])),
        slipwayError('SLW_TRUST_ROOT_TOO_LARGE'),
      );
    });

    test(`a root carrying more than ${MAX_SIGNATURES} signatures is refused`, async () => {
      const root = buildRoot(specWith({}));
      const signature = await signPayload(rootKey.signer, PAYLOAD_TYPE_ROOT, root.envelope.payload);
      const many = (n: number) =>
        Buffer.from(serializeEnvelope({ ...root.envelope, signatures: Array.from({ length: n }, () => signature) }));
      assert.equal(parseRoot(many(MAX_SIGNATURES)).envelope.signatures.length, MAX_SIGNATURES);
      assert.throws(() => parseRoot(many(MAX_SIGNATURES + 1)), slipwayError('SLW_TRUST_ROOT_MALFORMED'));
    });
  });
});

import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  GENERATABLE_KEY_TYPES,
  type GeneratableKeyType,
  type GeneratedKeyPair,
  generateKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  RSA_MAX_BITS,
  RSA_MIN_BITS,
  type SignatureScheme,
  schemeForKey,
} from '../../src/index.js';
import { slipwayError } from '../support/fixtures.js';

const EXPECTED_SCHEME: Record<GeneratableKeyType, SignatureScheme> = {
  ed25519: 'ed25519',
  'ecdsa-p256': 'ecdsa-p256-sha256',
  'rsa-3072': 'rsa-pss-sha256',
  'rsa-4096': 'rsa-pss-sha256',
};

/** The key ID computed without Slipway's code: SHA-256 over the SPKI DER of the public half. */
function independentKeyId(privatePem: string): string {
  const der = createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * An RSA public key of exactly `bits` bits from a random modulus. Key policy only reads the
 * modulus length and exponent, so this tests sizes that would take seconds to generate for real.
 */
function rsaPublicKey(bits: number, exponent: bigint): KeyObject {
  const modulus = randomBytes(Math.ceil(bits / 8));
  const topBits = bits % 8 === 0 ? 8 : bits % 8;
  const first = modulus[0] ?? 0;
  modulus[0] = (first & ((1 << topBits) - 1)) | (1 << (topBits - 1));
  const last = modulus.length - 1;
  modulus[last] = (modulus[last] ?? 0) | 1;
  const hex = exponent.toString(16);
  const e = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
  return createPublicKey({ key: { kty: 'RSA', n: modulus.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
}

describe('key generation', () => {
  const generated = new Map<GeneratableKeyType, GeneratedKeyPair>();
  // RSA-4096 takes a second or two: every key is generated once for the whole file.
  before(() => {
    for (const type of GENERATABLE_KEY_TYPES) generated.set(type, generateKeyPair(type));
  });

  function pairOf(type: GeneratableKeyType): GeneratedKeyPair {
    const pair = generated.get(type);
    assert.ok(pair, `no ${type} key was generated`);
    return pair;
  }

  for (const type of GENERATABLE_KEY_TYPES) {
    test(`a generated ${type} key exports a PKCS#8 private PEM and an SPKI public PEM`, () => {
      const pair = pairOf(type);
      assert.match(pair.privatePem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
      assert.match(pair.publicKey.pem, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
      // Node reads both back in the declared encodings, and they are halves of one pair.
      const privateKey = createPrivateKey({ key: pair.privatePem, format: 'pem', type: 'pkcs8' });
      const publicKey = createPublicKey({ key: pair.publicKey.pem, format: 'pem', type: 'spki' });
      assert.equal(privateKey.type, 'private');
      assert.equal(spkiPem(createPublicKey(privateKey)), spkiPem(publicKey));
      assert.equal(pkcs8Pem(privateKey), pair.privatePem);
    });

    test(`a generated ${type} key has the ${EXPECTED_SCHEME[type]} scheme and the parameters its name promises`, () => {
      const pair = pairOf(type);
      assert.equal(pair.publicKey.scheme, EXPECTED_SCHEME[type]);
      const details = pair.publicKey.key.asymmetricKeyDetails ?? {};
      if (type === 'ecdsa-p256') assert.equal(details.namedCurve, 'prime256v1');
      if (type === 'rsa-3072' || type === 'rsa-4096') {
        assert.equal(details.modulusLength, type === 'rsa-3072' ? 3072 : 4096);
        assert.equal(details.publicExponent, 65537n);
      }
      const parsed = parsePrivateKey(pair.privatePem);
      assert.equal(parsed.scheme, EXPECTED_SCHEME[type]);
      assert.equal(parsed.publicKey.pem, pair.publicKey.pem);
    });

    test(`the ID of a ${type} key is the hex SHA-256 of its SPKI DER, however the key is loaded`, () => {
      const pair = pairOf(type);
      const expected = independentKeyId(pair.privatePem);
      assert.match(expected, /^[0-9a-f]{64}$/);
      assert.equal(pair.publicKey.keyId, expected);
      assert.equal(parsePublicKey(pair.publicKey.pem).keyId, expected);
      assert.equal(parsePublicKey(Buffer.from(pair.publicKey.pem)).keyId, expected);
      const parsed = parsePrivateKey(Buffer.from(pair.privatePem));
      assert.equal(parsed.keyId, expected);
      assert.equal(parsed.publicKey.keyId, expected);
      assert.equal(keyIdOf(createPublicKey(pair.publicKey.pem)), expected);
    });
  }

  test('two keys generated with the same type have different IDs', () => {
    assert.notEqual(generateKeyPair('ed25519').publicKey.keyId, generateKeyPair('ed25519').publicKey.keyId);
  });
});

describe('key policy', () => {
  test('refuses RSA-2048 keys, public or private, as too weak', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.throws(() => schemeForKey(publicKey), slipwayError('SLW_KEY_TOO_WEAK'));
    assert.throws(() => parsePublicKey(spkiPem(publicKey)), slipwayError('SLW_KEY_TOO_WEAK'));
    assert.throws(() => parsePrivateKey(pkcs8Pem(privateKey)), slipwayError('SLW_KEY_TOO_WEAK'));
  });

  test('accepts RSA keys from 3072 to 4096 bits and refuses one bit fewer or more', () => {
    assert.equal(schemeForKey(rsaPublicKey(RSA_MIN_BITS, 65537n)), 'rsa-pss-sha256');
    assert.equal(schemeForKey(rsaPublicKey(RSA_MAX_BITS, 65537n)), 'rsa-pss-sha256');
    assert.throws(() => schemeForKey(rsaPublicKey(RSA_MIN_BITS - 1, 65537n)), slipwayError('SLW_KEY_TOO_WEAK'));
    assert.throws(() => schemeForKey(rsaPublicKey(RSA_MAX_BITS + 1, 65537n)), slipwayError('SLW_KEY_TOO_WEAK'));
  });

  test('refuses RSA keys larger than 4096 bits (slow verification is a denial-of-service lever)', () => {
    const big = rsaPublicKey(8192, 65537n);
    assert.equal(big.asymmetricKeyDetails?.modulusLength, 8192);
    assert.throws(() => parsePublicKey(spkiPem(big)), slipwayError('SLW_KEY_TOO_WEAK'));
  });

  test('refuses RSA keys with the public exponent 3', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 });
    assert.throws(() => parsePublicKey(spkiPem(publicKey)), slipwayError('SLW_KEY_TOO_WEAK'));
    assert.throws(() => parsePrivateKey(pkcs8Pem(privateKey)), slipwayError('SLW_KEY_TOO_WEAK'));
  });

  for (const curve of ['secp384r1', 'secp256k1']) {
    test(`refuses ECDSA keys on the ${curve} curve; only P-256 is accepted`, () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      assert.throws(() => parsePublicKey(spkiPem(publicKey)), slipwayError('SLW_KEY_TOO_WEAK'));
      assert.throws(() => parsePrivateKey(pkcs8Pem(privateKey)), slipwayError('SLW_KEY_TOO_WEAK'));
    });
  }

  const unsupported: readonly [string, () => { publicKey: KeyObject; privateKey: KeyObject }][] = [
    ['x25519', () => generateKeyPairSync('x25519')],
    ['x448', () => generateKeyPairSync('x448')],
    ['ed448', () => generateKeyPairSync('ed448')],
    ['dsa', () => generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 })],
    ['rsa-pss (RSASSA-PSS-only SPKI)', () => generateKeyPairSync('rsa-pss', { modulusLength: 3072 })],
  ];
  for (const [name, generate] of unsupported) {
    test(`refuses ${name} keys as an unsupported type`, () => {
      const { publicKey, privateKey } = generate();
      assert.throws(() => schemeForKey(publicKey), slipwayError('SLW_KEY_TYPE_UNSUPPORTED'));
      assert.throws(() => parsePublicKey(spkiPem(publicKey)), slipwayError('SLW_KEY_TYPE_UNSUPPORTED'));
      assert.throws(() => parsePrivateKey(pkcs8Pem(privateKey)), slipwayError('SLW_KEY_TYPE_UNSUPPORTED'));
    });
  }
});

describe('parsing key files', () => {
  let pair: GeneratedKeyPair;
  before(() => {
    pair = generateKeyPair('ed25519');
  });

  test('parsePrivateKey refuses a public key PEM given where a private key is needed', () => {
    assert.throws(() => parsePrivateKey(pair.publicKey.pem), slipwayError('SLW_KEY_INVALID'));
  });

  test('parsePublicKey refuses a private key PEM given where a public key is expected', () => {
    // Node would quietly derive the public half; a private key in a public slot (a root.json, a
    // signature file) is a leak in the making, so it is refused.
    assert.throws(() => parsePublicKey(pair.privatePem), slipwayError('SLW_KEY_INVALID'));
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    assert.throws(() => parsePublicKey(sec1), slipwayError('SLW_KEY_INVALID'));
  });

  test('parsePrivateKey and parsePublicKey refuse garbage', () => {
    const inputs = [
      '',
      'not a key at all\n',
      '-----BEGIN PRIVATE KEY-----\nAAAAbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
      '-----BEGIN PUBLIC KEY-----\nAAAAbm90IGEga2V5\n-----END PUBLIC KEY-----\n',
      pair.privatePem.slice(0, 60),
      pair.publicKey.pem.slice(0, 60),
    ];
    for (const input of inputs) {
      assert.throws(() => parsePrivateKey(input), slipwayError('SLW_KEY_INVALID'), JSON.stringify(input));
      assert.throws(() => parsePublicKey(input), slipwayError('SLW_KEY_INVALID'), JSON.stringify(input));
    }
  });

  test('parsePrivateKey and parsePublicKey refuse random binary bytes', () => {
    assert.throws(() => parsePrivateKey(randomBytes(512)), slipwayError('SLW_KEY_INVALID'));
    assert.throws(() => parsePublicKey(randomBytes(512)), slipwayError('SLW_KEY_INVALID'));
  });

  describe('an encrypted PKCS#8 private key', () => {
    let encrypted: string;
    before(() => {
      encrypted = createPrivateKey(pair.privatePem)
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' })
        .toString();
    });

    test('opens with the right passphrase and yields the same key', () => {
      assert.match(encrypted, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      const parsed = parsePrivateKey(encrypted, 'release.key', 'correct horse');
      assert.equal(parsed.keyId, pair.publicKey.keyId);
      assert.equal(parsed.scheme, 'ed25519');
    });

    test('is refused with a wrong passphrase, naming the passphrase as the problem', () => {
      assert.throws(
        () => parsePrivateKey(encrypted, 'release.key', 'wrong horse'),
        (err: unknown) => err instanceof Error && 'code' in err && err.code === 'SLW_KEY_INVALID' && /passphrase/.test(err.message),
      );
    });

    test('is refused without a passphrase', () => {
      assert.throws(() => parsePrivateKey(encrypted, 'release.key'), slipwayError('SLW_KEY_INVALID'));
    });

    test('an unencrypted key opens whether or not a passphrase is given', () => {
      assert.equal(parsePrivateKey(pair.privatePem, 'release.key', 'unused').keyId, pair.publicKey.keyId);
    });
  });
});

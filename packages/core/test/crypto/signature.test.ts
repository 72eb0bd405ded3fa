import assert from 'node:assert/strict';
import { constants, createPrivateKey, randomBytes, sign, verify } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  GENERATABLE_KEY_TYPES,
  type GeneratableKeyType,
  PAYLOAD_TYPE_MANIFEST,
  PAYLOAD_TYPE_ROOT,
  preAuthEncoding,
  type Signature,
  signPayload,
  verifyPayloadSignature,
  verifyRaw,
} from '../../src/index.js';
import { makeKey, type TestKey } from '../support/fixtures.js';

const BODY = Buffer.from('{"type":"slipway-artifact","name":"gateway-os","version":"1.0.0"}\n');

/** Raw signature length per key type: Ed25519 and raw ECDSA P-256 are 64 bytes, RSA the modulus size. */
const SIGNATURE_BYTES: Record<GeneratableKeyType, number> = { ed25519: 64, 'ecdsa-p256': 64, 'rsa-3072': 384, 'rsa-4096': 512 };

function rawOf(signature: Signature): Buffer {
  return Buffer.from(signature.sig, 'base64');
}

function withRaw(signature: Signature, raw: Uint8Array): Signature {
  return { keyid: signature.keyid, sig: Buffer.from(raw).toString('base64') };
}

describe('signatures', () => {
  const keys = new Map<GeneratableKeyType, TestKey>();
  let other: TestKey;
  // RSA-4096 generation is slow: one key per type for the whole file.
  before(() => {
    for (const type of GENERATABLE_KEY_TYPES) keys.set(type, makeKey(type));
    other = makeKey('ed25519');
  });

  function keyOf(type: GeneratableKeyType): TestKey {
    const key = keys.get(type);
    assert.ok(key, `no ${type} key`);
    return key;
  }

  test('the pre-authentication encoding binds the payload type and both lengths', () => {
    const pae = preAuthEncoding(PAYLOAD_TYPE_MANIFEST, Buffer.from('hello'));
    assert.equal(pae.toString('utf8'), `DSSEv1 ${PAYLOAD_TYPE_MANIFEST.length} ${PAYLOAD_TYPE_MANIFEST} 5 hello`);
    assert.notDeepEqual(preAuthEncoding(PAYLOAD_TYPE_ROOT, Buffer.from('hello')), pae);
    // The empty body still carries its length, so "type + body" splits cannot collide.
    assert.equal(preAuthEncoding('a', Buffer.alloc(0)).toString('utf8'), 'DSSEv1 1 a 0 ');
  });

  for (const type of GENERATABLE_KEY_TYPES) {
    describe(`with a ${type} key`, () => {
      test('a signature over the payload verifies with the same key', async () => {
        const key = keyOf(type);
        const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
        assert.equal(signature.keyid, key.keyId);
        assert.equal(rawOf(signature).length, SIGNATURE_BYTES[type]);
        assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, signature), true);
      });

      test('the signature covers PAE(type, body), not the bare body', async () => {
        const key = keyOf(type);
        const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
        const publicKey = key.signer.publicKey;
        assert.equal(verifyRaw(publicKey, preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY), rawOf(signature)), true);
        assert.equal(verifyRaw(publicKey, BODY, rawOf(signature)), false);
      });

      test('a signature over one byte-changed body does not verify', async () => {
        const key = keyOf(type);
        const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
        const changed = Buffer.from(BODY);
        changed[changed.length - 2] = (changed[changed.length - 2] ?? 0) ^ 0x01;
        assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, changed, signature), false);
      });

      test('a manifest signature does not verify as a root signature (domain separation)', async () => {
        const key = keyOf(type);
        const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
        assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_ROOT, BODY, signature), false);
        const rootSignature = await signPayload(key.signer, PAYLOAD_TYPE_ROOT, BODY);
        assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, rootSignature), false);
      });

      test('malformed signatures return false and never throw', async () => {
        const key = keyOf(type);
        const publicKey = key.signer.publicKey;
        const good = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
        const raw = rawOf(good);
        const malformed: Signature[] = [
          withRaw(good, raw.subarray(0, raw.length - 1)),
          withRaw(good, raw.subarray(0, raw.length / 2)),
          withRaw(good, Buffer.concat([raw, Buffer.from([0])])),
          withRaw(good, Buffer.alloc(0)),
          withRaw(good, Buffer.alloc(raw.length)),
          withRaw(good, randomBytes(raw.length)),
          { keyid: good.keyid, sig: '!!! not base64 !!!' },
          { keyid: good.keyid, sig: `${good.sig}\n` },
          { keyid: good.keyid, sig: good.sig.replace(/^./, '-') },
        ];
        for (const signature of malformed) {
          assert.equal(verifyPayloadSignature(publicKey, PAYLOAD_TYPE_MANIFEST, BODY, signature), false, signature.sig);
        }
        assert.equal(verifyRaw(publicKey, preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY), raw.subarray(1)), false);
      });

      test('a signature does not verify under another key, nor when it names another key ID', async () => {
        const key = keyOf(type);
        const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
        assert.equal(verifyPayloadSignature(other.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, signature), false);
        const relabelled = { keyid: other.keyId, sig: signature.sig };
        assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, relabelled), false);
      });
    });
  }

  test('ECDSA signatures are 64-byte raw r||s, checkable with a plain IEEE P1363 verifier', async () => {
    const key = keyOf('ecdsa-p256');
    const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    const raw = rawOf(signature);
    assert.equal(raw.length, 64);
    const pae = preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY);
    assert.equal(verify('sha256', pae, { key: key.signer.publicKey.key, dsaEncoding: 'ieee-p1363' }, raw), true);
  });

  test('a DER-encoded ECDSA signature is not accepted in place of raw r||s', () => {
    const key = keyOf('ecdsa-p256');
    const pae = preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY);
    const der = sign('sha256', pae, { key: createPrivateKey(key.privatePem), dsaEncoding: 'der' });
    assert.equal(verify('sha256', pae, key.signer.publicKey.key, der), true, 'the DER signature itself is valid');
    const signature = { keyid: key.keyId, sig: der.toString('base64') };
    assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, signature), false);
  });

  test('ECDSA signatures are randomized, and each one verifies', async () => {
    const key = keyOf('ecdsa-p256');
    const first = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    const second = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    assert.notEqual(first.sig, second.sig);
    assert.equal(verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, second), true);
  });

  test('Ed25519 signatures are deterministic', async () => {
    const key = keyOf('ed25519');
    const first = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    assert.deepEqual(await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY), first);
  });

  test('RSA signatures are RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt', async () => {
    const key = keyOf('rsa-3072');
    const signature = await signPayload(key.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    const pae = preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY);
    const pss = { key: key.signer.publicKey.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    assert.equal(verify('sha256', pae, pss, rawOf(signature)), true);
  });

  test('the scheme comes from the key: an RSA PKCS#1 v1.5 signature does not verify under the PSS check', () => {
    const key = keyOf('rsa-3072');
    const pae = preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY);
    const v15 = sign('sha256', pae, { key: createPrivateKey(key.privatePem), padding: constants.RSA_PKCS1_PADDING });
    assert.equal(verify('sha256', pae, { key: key.signer.publicKey.key, padding: constants.RSA_PKCS1_PADDING }, v15), true);
    assert.equal(
      verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, { keyid: key.keyId, sig: v15.toString('base64') }),
      false,
    );
  });

  test('an RSA-PSS signature with another salt length or hash does not verify', () => {
    const key = keyOf('rsa-3072');
    const pae = preAuthEncoding(PAYLOAD_TYPE_MANIFEST, BODY);
    const privateKey = createPrivateKey(key.privatePem);
    const variants = [
      sign('sha256', pae, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }),
      sign('sha256', pae, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN }),
      sign('sha512', pae, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    ];
    for (const raw of variants) {
      assert.equal(
        verifyPayloadSignature(key.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, { keyid: key.keyId, sig: raw.toString('base64') }),
        false,
      );
    }
  });

  test('an Ed25519 key does not accept an ECDSA signature, nor the reverse', async () => {
    const ed = keyOf('ed25519');
    const ec = keyOf('ecdsa-p256');
    const byEc = await signPayload(ec.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    const byEd = await signPayload(ed.signer, PAYLOAD_TYPE_MANIFEST, BODY);
    assert.equal(verifyPayloadSignature(ed.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, { keyid: ed.keyId, sig: byEc.sig }), false);
    assert.equal(verifyPayloadSignature(ec.signer.publicKey, PAYLOAD_TYPE_MANIFEST, BODY, { keyid: ec.keyId, sig: byEd.sig }), false);
  });
});

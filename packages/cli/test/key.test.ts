import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { generateKey, makeArtifact, makeRoot, writePayload } from './support/fixtures.js';
import { assertFails, assertOk, parseJson, type Scratch, scratch, slipway } from './support/run.js';

function spkiKeyId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

describe('slipway key generate', () => {
  let s: Scratch;
  before(async () => {
    s = await scratch();
  });
  after(() => s.cleanup());

  async function generated(type: string, name: string) {
    const prefix = s.path(name);
    const result = await slipway(['key', 'generate', '--type', type, '--out', prefix]);
    assertOk(result);
    const privatePem = await readFile(`${prefix}.key`, 'utf8');
    const publicPem = await readFile(`${prefix}.pub`, 'utf8');
    return { prefix, result, privatePem, publicPem };
  }

  for (const [type, keyType] of [
    ['ed25519', 'ed25519'],
    ['ecdsa-p256', 'ec'],
    ['rsa-3072', 'rsa'],
  ] as const) {
    test(`${type}: writes a PKCS#8 private key with mode 0600 and the matching SPKI public key`, async () => {
      const { prefix, result, privatePem, publicPem } = await generated(type, `k-${type}`);
      assert.match(privatePem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
      assert.match(publicPem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
      assert.equal((await stat(`${prefix}.key`)).mode & 0o777, 0o600);

      const privateKey = createPrivateKey(privatePem);
      const publicKey = createPublicKey(publicPem);
      assert.equal(privateKey.asymmetricKeyType, keyType);
      assert.equal(spkiKeyId(createPublicKey(privateKey)), spkiKeyId(publicKey), 'the .pub belongs to the .key');
      if (type === 'ecdsa-p256') assert.equal(publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      if (type === 'rsa-3072') assert.equal(publicKey.asymmetricKeyDetails?.modulusLength, 3072);
      assert.match(result.stdout, new RegExp(`key id: ${spkiKeyId(publicKey)}`));
    });
  }

  test('--json prints the key ID, the SHA-256 of the SubjectPublicKeyInfo, and nothing else on stdout', async () => {
    const prefix = s.path('json');
    const result = await slipway(['key', 'generate', '--type', 'ed25519', '--out', prefix, '--json']);
    assertOk(result);
    const data = parseJson<{ keyId: string; type: string; privateKey: string; publicKey: string; encrypted: boolean }>(result);
    assert.equal(data.keyId, spkiKeyId(createPublicKey(await readFile(`${prefix}.pub`))));
    assert.equal(data.type, 'ed25519');
    assert.equal(data.privateKey, `${prefix}.key`);
    assert.equal(data.publicKey, `${prefix}.pub`);
    assert.equal(data.encrypted, false);
  });

  test('refuses to overwrite an existing key pair without --force (SLW_IO_EXISTS) and replaces it with --force', async () => {
    const first = await generated('ed25519', 'existing');
    const again = await slipway(['key', 'generate', '--type', 'ed25519', '--out', first.prefix]);
    assertFails(again, 'SLW_IO_EXISTS');
    assert.equal(await readFile(`${first.prefix}.key`, 'utf8'), first.privatePem, 'the private key is untouched');
    assert.equal(await readFile(`${first.prefix}.pub`, 'utf8'), first.publicPem);

    const forced = await slipway(['key', 'generate', '--type', 'ed25519', '--out', first.prefix, '--force']);
    assertOk(forced);
    assert.notEqual(await readFile(`${first.prefix}.key`, 'utf8'), first.privatePem);
    assert.equal((await stat(`${first.prefix}.key`)).mode & 0o777, 0o600);
  });

  test('refuses to overwrite when only the .pub exists, leaving no half-written pair', async () => {
    const first = await generated('ed25519', 'pub-only');
    await rm(`${first.prefix}.key`);
    assertFails(await slipway(['key', 'generate', '--type', 'ed25519', '--out', first.prefix]), 'SLW_IO_EXISTS');
    await assert.rejects(stat(`${first.prefix}.key`), { code: 'ENOENT' });
    assert.equal(await readFile(`${first.prefix}.pub`, 'utf8'), first.publicPem);
  });

  test('rejects an unknown key type with SLW_KEY_TYPE_UNSUPPORTED and writes nothing', async () => {
    for (const type of ['dsa', 'rsa-2048', 'ecdsa-p384', 'ED25519']) {
      const prefix = s.path(`bad-${type}`);
      assertFails(await slipway(['key', 'generate', '--type', type, '--out', prefix]), 'SLW_KEY_TYPE_UNSUPPORTED');
      await assert.rejects(stat(`${prefix}.key`), { code: 'ENOENT' });
      await assert.rejects(stat(`${prefix}.pub`), { code: 'ENOENT' });
    }
  });

  describe('--encrypt', () => {
    const passphrase = 'correct horse battery staple';

    test('encrypts the private key with SLIPWAY_KEY_PASSPHRASE and the key signs only with that passphrase', async () => {
      const prefix = s.path('enc');
      const result = await slipway(['key', 'generate', '--type', 'ecdsa-p256', '--out', prefix, '--encrypt', '--json'], {
        env: { keyPassphrase: passphrase },
      });
      assertOk(result);
      assert.equal(parseJson<{ encrypted: boolean }>(result).encrypted, true);
      const pem = await readFile(`${prefix}.key`, 'utf8');
      assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      assert.equal((await stat(`${prefix}.key`)).mode & 0o777, 0o600);
      assert.throws(() => createPrivateKey(pem), 'unreadable without the passphrase');
      assert.equal(createPrivateKey({ key: pem, passphrase }).asymmetricKeyType, 'ec');

      // The encrypted key is usable as a release key through the environment passphrase only.
      const rootKey = await generateKey(s, 'enc-root');
      const release = { key: `${prefix}.key`, pub: `${prefix}.pub`, keyId: '' };
      const root = await makeRoot(s, 'enc-root.json', { rootKeys: [rootKey], releaseKeys: [release] });
      const artifact = await makeArtifact(s, 'enc.slw', { payloads: [await writePayload(s, 'enc.bin')] });
      assertFails(await slipway(['artifact', 'sign', artifact, '--key', release.key]), 'SLW_KEY_INVALID');
      assertFails(
        await slipway(['artifact', 'sign', artifact, '--key', release.key], { env: { keyPassphrase: 'wrong' } }),
        'SLW_KEY_INVALID',
      );
      assertOk(await slipway(['artifact', 'sign', artifact, '--key', release.key], { env: { keyPassphrase: passphrase } }));
      assertOk(await slipway(['artifact', 'verify', artifact, '--trust', root]));
    });

    test('refuses --encrypt without a passphrase in the environment and writes nothing', async () => {
      const prefix = s.path('enc-missing');
      assertFails(await slipway(['key', 'generate', '--type', 'ed25519', '--out', prefix, '--encrypt']), 'SLW_USAGE_MISSING_OPTION');
      await assert.rejects(stat(`${prefix}.key`), { code: 'ENOENT' });
    });
  });
});

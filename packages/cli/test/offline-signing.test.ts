import assert from 'node:assert/strict';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { generateKey, type KeyFiles, makeArtifact, makeRoot, writePayload } from './support/fixtures.js';
import { assertFails, assertOk, parseJson, type Scratch, scratch, slipway } from './support/run.js';

describe('air-gapped signing', () => {
  let s: Scratch;
  let rootKey: KeyFiles;
  let newRootKey: KeyFiles;
  let release: KeyFiles;
  let ecdsaRelease: KeyFiles;
  let root: string;
  let payload: string;
  before(async () => {
    s = await scratch();
    rootKey = await generateKey(s, 'root');
    newRootKey = await generateKey(s, 'root-new');
    release = await generateKey(s, 'release');
    ecdsaRelease = await generateKey(s, 'release-ec', 'ecdsa-p256');
    root = await makeRoot(s, 'root.json', { rootKeys: [rootKey], releaseKeys: [release, ecdsaRelease] });
    payload = await writePayload(s, 'rootfs.img');
  });
  after(() => s.cleanup());

  async function offlineSign(request: string, key: string, out: string): Promise<void> {
    const args = ['sign', request, '--key', key, '--out', out, '--yes'];
    assertOk(await slipway(args), args);
  }

  describe('artifacts', () => {
    test('sign-request -> sign -> attach gives the same bytes as artifact sign with an ed25519 key', async () => {
      const offline = await makeArtifact(s, 'offline.slw', { payloads: [payload] });
      const online = s.path('online.slw');
      await copyFile(offline, online);

      const request = s.path('req.json');
      const exported = await slipway(['artifact', 'sign-request', offline, '--out', request, '--json']);
      assertOk(exported);
      const summary = parseJson<{ summary: { kind: string; name: string; version: string; deviceTypes: string[] } }>(exported).summary;
      assert.deepEqual([summary.kind, summary.name, summary.version, summary.deviceTypes], ['artifact', 'gateway-os', '1.0.0', ['gw-100']]);

      const signature = s.path('sig.json');
      const signed = await slipway(['sign', request, '--key', release.key, '--out', signature, '--yes', '--json']);
      assertOk(signed);
      assert.equal(parseJson<{ keyId: string }>(signed).keyId, release.keyId);
      assert.match(signed.stderr, /name: gateway-os/, 'the signer is shown what they sign');

      const attached = await slipway(['artifact', 'attach', offline, signature, '--json']);
      assertOk(attached);
      assert.deepEqual(parseJson<{ signatures: string[] }>(attached).signatures, [release.keyId]);
      assertOk(await slipway(['artifact', 'sign', online, '--key', release.key]));

      assert.deepEqual(await readFile(offline), await readFile(online), 'attach and sign in place write identical files');
      assertOk(await slipway(['artifact', 'verify', offline, '--trust', root]));
    });

    test('an ECDSA signature made offline verifies after attach', async () => {
      const artifact = await makeArtifact(s, 'offline-ec.slw', { payloads: [payload] });
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', s.path('req-ec.json')]));
      await offlineSign(s.path('req-ec.json'), ecdsaRelease.key, s.path('sig-ec.json'));
      assertOk(await slipway(['artifact', 'attach', artifact, s.path('sig-ec.json')]));
      assertOk(await slipway(['artifact', 'verify', artifact, '--trust', root]));
    });

    test('refuses to attach a signature made for another artifact (SLW_SIGN_WRONG_TARGET) and leaves the file untouched', async () => {
      const first = await makeArtifact(s, 'first.slw', { payloads: [payload], version: '1.0.0' });
      const second = await makeArtifact(s, 'second.slw', { payloads: [payload], version: '1.0.1' });
      assertOk(await slipway(['artifact', 'sign-request', first, '--out', s.path('req-first.json')]));
      await offlineSign(s.path('req-first.json'), release.key, s.path('sig-first.json'));
      const before = await readFile(second);
      assertFails(await slipway(['artifact', 'attach', second, s.path('sig-first.json')]), 'SLW_SIGN_WRONG_TARGET');
      assert.deepEqual(await readFile(second), before);
      assertFails(await slipway(['artifact', 'verify', second, '--trust', root]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
    });

    test('refuses a signature file whose signature bytes were forged (SLW_SIGN_SIGNATURE_INVALID)', async () => {
      const artifact = await makeArtifact(s, 'forged.slw', { payloads: [payload] });
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', s.path('req-forged.json')]));
      await offlineSign(s.path('req-forged.json'), release.key, s.path('sig-forged.json'));
      const detached = JSON.parse(await readFile(s.path('sig-forged.json'), 'utf8')) as { sig: string };
      const raw = Buffer.from(detached.sig, 'base64');
      raw[0] = (raw[0] ?? 0) ^ 1;
      detached.sig = raw.toString('base64');
      await writeFile(s.path('sig-forged.json'), JSON.stringify(detached));
      assertFails(await slipway(['artifact', 'attach', artifact, s.path('sig-forged.json')]), 'SLW_SIGN_SIGNATURE_INVALID');
    });

    test('refuses to sign a request whose summary was doctored to mislead the signer (SLW_SIGN_REQUEST_MISMATCH)', async () => {
      const artifact = await makeArtifact(s, 'doctored.slw', { payloads: [payload], deviceTypes: ['gw-100'] });
      const request = s.path('req-doctored.json');
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', request]));
      const json = JSON.parse(await readFile(request, 'utf8')) as { summary: { version: string } };
      json.summary.version = '0.0.1-harmless';
      await writeFile(request, JSON.stringify(json));
      assertFails(
        await slipway(['sign', request, '--key', release.key, '--out', s.path('sig-doctored.json'), '--yes']),
        'SLW_SIGN_REQUEST_MISMATCH',
      );
      await assert.rejects(stat(s.path('sig-doctored.json')), { code: 'ENOENT' });
    });

    test('refuses a request that is not a sign request (SLW_SIGN_REQUEST_INVALID)', async () => {
      assertFails(await slipway(['sign', root, '--key', release.key, '--out', s.path('sig-x.json'), '--yes']), 'SLW_SIGN_REQUEST_INVALID');
    });

    test('sign-request and sign refuse to overwrite their output without --force', async () => {
      const artifact = await makeArtifact(s, 'overwrite.slw', { payloads: [payload] });
      const request = s.path('req-overwrite.json');
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', request]));
      assertFails(await slipway(['artifact', 'sign-request', artifact, '--out', request]), 'SLW_IO_EXISTS');
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', request, '--force']));
      const signature = s.path('sig-overwrite.json');
      await offlineSign(request, release.key, signature);
      assertFails(await slipway(['sign', request, '--key', release.key, '--out', signature, '--yes']), 'SLW_IO_EXISTS');
    });
  });

  describe('trust roots', () => {
    test('trust sign-request -> sign -> trust attach gives the same bytes as trust sign', async () => {
      const offline = await makeRoot(s, 'offline-root.json', { rootKeys: [rootKey], releaseKeys: [release], signedBy: [] });
      const online = s.path('online-root.json');
      await copyFile(offline, online);

      const request = s.path('root-req.json');
      const exported = await slipway(['trust', 'sign-request', offline, '--out', request, '--json']);
      assertOk(exported);
      assert.equal(parseJson<{ summary: { kind: string } }>(exported).summary.kind, 'root');
      await offlineSign(request, rootKey.key, s.path('root-sig.json'));
      assertOk(await slipway(['trust', 'attach', offline, s.path('root-sig.json')]));
      assertOk(await slipway(['trust', 'sign', online, '--key', rootKey.key]));

      assert.equal(await readFile(offline, 'utf8'), await readFile(online, 'utf8'));
      assertOk(await slipway(['trust', 'verify', offline]));
    });

    test('a rotation root signed offline by the old and new root keys passes trust verify --previous', async () => {
      const next = await makeRoot(s, 'rot-offline-v2.json', {
        rootKeys: [newRootKey],
        releaseKeys: [release],
        extraArgs: ['--version', '2'],
        signedBy: [],
      });
      const request = s.path('rot-req.json');
      assertOk(await slipway(['trust', 'sign-request', next, '--out', request]));
      await offlineSign(request, rootKey.key, s.path('rot-sig-old.json'));
      await offlineSign(request, newRootKey.key, s.path('rot-sig-new.json'));
      assertOk(await slipway(['trust', 'attach', next, s.path('rot-sig-new.json')]));
      assertFails(await slipway(['trust', 'verify', next, '--previous', root]), 'SLW_TRUST_ROOT_OLD_THRESHOLD');
      assertOk(await slipway(['trust', 'attach', next, s.path('rot-sig-old.json')]));
      assertOk(await slipway(['trust', 'verify', next, '--previous', root]));
    });

    test('refuses to attach a signature made for another root, or for an artifact (SLW_SIGN_WRONG_TARGET)', async () => {
      const first = await makeRoot(s, 'wt-1.json', {
        rootKeys: [rootKey],
        releaseKeys: [release],
        signedBy: [],
        extraArgs: ['--version', '4'],
      });
      const second = await makeRoot(s, 'wt-2.json', {
        rootKeys: [rootKey],
        releaseKeys: [release],
        signedBy: [],
        extraArgs: ['--version', '5'],
      });
      assertOk(await slipway(['trust', 'sign-request', first, '--out', s.path('wt-req.json')]));
      await offlineSign(s.path('wt-req.json'), rootKey.key, s.path('wt-sig.json'));
      const before = await readFile(second);
      assertFails(await slipway(['trust', 'attach', second, s.path('wt-sig.json')]), 'SLW_SIGN_WRONG_TARGET');
      assert.deepEqual(await readFile(second), before);

      // Cross-type: a root signature on an artifact and an artifact signature on a root.
      const artifact = await makeArtifact(s, 'wt.slw', { payloads: [payload] });
      assertFails(await slipway(['artifact', 'attach', artifact, s.path('wt-sig.json')]), 'SLW_SIGN_WRONG_TARGET');
      assertOk(await slipway(['artifact', 'sign-request', artifact, '--out', s.path('wt-art-req.json')]));
      await offlineSign(s.path('wt-art-req.json'), release.key, s.path('wt-art-sig.json'));
      assertFails(await slipway(['trust', 'attach', second, s.path('wt-art-sig.json')]), 'SLW_SIGN_WRONG_TARGET');
    });
  });
});

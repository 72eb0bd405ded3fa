import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, flipByte, generateKey, type KeyFiles, makeArtifact, makeRoot, writePayload } from './support/fixtures.js';
import { assertFails, assertOk, parseJson, type Scratch, scratch, slipway } from './support/run.js';

interface Inspected {
  manifest: {
    name: string;
    version: string;
    securityVersion: number;
    deviceTypes: string[];
    payloadType: string;
    payloads: { name: string; compression: string; size: number; uncompressedSize: number; sha256: string }[];
    createdAt: string;
    expiresAt?: string;
    metadata?: Record<string, unknown>;
  };
  signatures: { keyId: string; validReleaseSignature?: boolean }[];
}

async function inspect(path: string, ...extra: string[]): Promise<Inspected> {
  const result = await slipway(['artifact', 'inspect', path, '--json', ...extra]);
  assertOk(result);
  return parseJson<Inspected>(result);
}

describe('slipway artifact', () => {
  let s: Scratch;
  let rootKey: KeyFiles;
  let release: KeyFiles;
  let release2: KeyFiles;
  let stranger: KeyFiles;
  let root: string;
  let rootTwoOfTwo: string;
  let payloadBytes: Buffer;
  let payload: string;
  before(async () => {
    s = await scratch();
    rootKey = await generateKey(s, 'root');
    release = await generateKey(s, 'release', 'ecdsa-p256');
    release2 = await generateKey(s, 'release2');
    stranger = await generateKey(s, 'stranger');
    root = await makeRoot(s, 'root.json', { rootKeys: [rootKey], releaseKeys: [release] });
    rootTwoOfTwo = await makeRoot(s, 'root-2of2.json', {
      rootKeys: [rootKey],
      releaseKeys: [release, release2],
      extraArgs: ['--release-threshold', '2'],
    });
    payloadBytes = randomBytes(6000);
    payload = await writePayload(s, 'rootfs.img', payloadBytes);
  });
  after(() => s.cleanup());

  test('create records every option in the signed manifest and --key signs while creating', async () => {
    const now = new Date('2026-05-01T10:00:00Z');
    const second = await writePayload(s, 'app.tar', Buffer.from('second payload\n'));
    const metadata = s.path('metadata.json');
    await writeFile(metadata, JSON.stringify({ script: 'install.sh', retries: 3 }));
    const out = await makeArtifact(s, 'full.slw', {
      name: 'edge-app',
      version: '2.4.1',
      deviceTypes: ['gw-100', 'gw-200'],
      payloads: [payload, second],
      extraArgs: [
        '--type',
        'module:script',
        '--security-version',
        '3',
        '--compression',
        'gzip',
        '--expires',
        '30d',
        '--metadata',
        metadata,
        '--key',
        release.key,
      ],
      now,
    });
    const { manifest, signatures } = await inspect(out, '--trust', root);
    assert.equal(manifest.name, 'edge-app');
    assert.equal(manifest.version, '2.4.1');
    assert.equal(manifest.securityVersion, 3);
    assert.deepEqual(manifest.deviceTypes, ['gw-100', 'gw-200']);
    assert.equal(manifest.payloadType, 'module:script');
    assert.deepEqual(
      manifest.payloads.map((p) => [p.name, p.compression, p.uncompressedSize]),
      [
        ['rootfs.img', 'gzip', 6000],
        ['app.tar', 'gzip', 15],
      ],
    );
    assert.equal(manifest.createdAt, '2026-05-01T10:00:00Z');
    assert.equal(manifest.expiresAt, '2026-05-31T10:00:00Z');
    assert.deepEqual(manifest.metadata, { script: 'install.sh', retries: 3 });
    assert.deepEqual(signatures, [{ keyId: release.keyId, validReleaseSignature: true }]);
    assertOk(await slipway(['artifact', 'verify', out, '--trust', root, '--device-type', 'gw-200', '--security-version', '3'], { now }));
  });

  for (const compression of ['none', 'gzip', 'zstd']) {
    test(`a ${compression}-compressed artifact signed with artifact sign verifies, and its payload hash is the file's`, async () => {
      const out = await makeArtifact(s, `c-${compression}.slw`, { payloads: [payload], extraArgs: ['--compression', compression] });
      const { manifest } = await inspect(out);
      const info = manifest.payloads[0];
      assert.equal(info?.compression, compression);
      assert.equal(info?.sha256, createHash('sha256').update(payloadBytes).digest('hex'));
      assertFails(await slipway(['artifact', 'verify', out, '--trust', root]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertOk(await slipway(['artifact', 'sign', out, '--key', release.key]));
      const verified = await slipway(['artifact', 'verify', out, '--trust', root, '--json']);
      assertOk(verified);
      const data = parseJson<{ valid: boolean; signedBy: string[]; threshold: number }>(verified);
      assert.deepEqual([data.valid, data.signedBy, data.threshold], [true, [release.keyId], 1]);
    });
  }

  test('the payload type defaults to rootfs and accepts directory', async () => {
    const plain = await makeArtifact(s, 'type-default.slw', { payloads: [payload] });
    assert.equal((await inspect(plain)).manifest.payloadType, 'rootfs');
    const dir = await makeArtifact(s, 'type-dir.slw', { payloads: [payload], extraArgs: ['--type', 'directory'] });
    assert.equal((await inspect(dir)).manifest.payloadType, 'directory');
  });

  test('create lists a device type given twice once', async () => {
    const out = await makeArtifact(s, 'twice.slw', { payloads: [payload], deviceTypes: ['gw-100', 'gw-100', 'gw-110'] });
    assert.deepEqual((await inspect(out)).manifest.deviceTypes, ['gw-100', 'gw-110']);
  });

  test('create refuses to replace an existing artifact without --force', async () => {
    const out = await makeArtifact(s, 'exists.slw', { payloads: [payload] });
    const before = await readFile(out);
    const again = ['artifact', 'create', '--name', 'x', '--version', '2', '--device-type', 'gw-100', '--payload', payload, '--out', out];
    assertFails(await slipway(again), 'SLW_IO_EXISTS');
    assert.deepEqual(await readFile(out), before);
    assertOk(await slipway([...again, '--force']));
    assert.equal((await inspect(out)).manifest.name, 'x');
  });

  test('create rejects a bad compression, payload type or metadata as usage errors', async () => {
    const base = ['artifact', 'create', '--name', 'x', '--version', '1', '--device-type', 'gw-100', '--payload', payload];
    assertFails(await slipway([...base, '--compression', 'lz4', '--out', s.path('bad1.slw')]), 'SLW_USAGE_INVALID_OPTION');
    assertFails(await slipway([...base, '--security-version', '-1', '--out', s.path('bad2.slw')]), 'SLW_USAGE_INVALID_OPTION');
    const notJson = await writePayload(s, 'meta.txt', Buffer.from('not json'));
    assertFails(await slipway([...base, '--metadata', notJson, '--out', s.path('bad3.slw')]), 'SLW_USAGE_INVALID_OPTION');
    const array = await writePayload(s, 'meta-array.json', Buffer.from('[1,2]'));
    assertFails(await slipway([...base, '--metadata', array, '--out', s.path('bad4.slw')]), 'SLW_USAGE_INVALID_OPTION');
    assertFails(await slipway([...base, '--type', 'firmware', '--out', s.path('bad5.slw')]), 'SLW_USAGE_INVALID_OPTION');
    const renamed = base.map((arg) => (arg === 'x' ? '../x' : arg));
    assertFails(await slipway([...renamed, '--out', s.path('bad6.slw')]), 'SLW_USAGE_INVALID_OPTION');
    assertFails(await slipway([...base, '--device-type', 'gw 200', '--out', s.path('bad7.slw')]), 'SLW_USAGE_INVALID_OPTION');
    for (const n of [1, 2, 3, 4, 5, 6, 7]) await assert.rejects(stat(s.path(`bad${n}.slw`)), { code: 'ENOENT' }, 'no output left behind');
  });

  describe('verify', () => {
    let signed: string;
    before(async () => {
      signed = await makeArtifact(s, 'signed.slw', {
        deviceTypes: ['gw-100', 'gw-110'],
        payloads: [payload],
        extraArgs: ['--security-version', '5', '--compression', 'none', '--key', release.key],
      });
    });

    test('exits 0 for a signed artifact that matches the device type and installed security version', async () => {
      const result = await slipway(['artifact', 'verify', signed, '--trust', root, '--device-type', 'gw-110', '--security-version', '5']);
      assertOk(result);
      assert.match(result.stdout, /^OK: /);
    });

    test('refuses an artifact built for another device type (SLW_ARTIFACT_DEVICE_TYPE)', async () => {
      assertFails(await slipway(['artifact', 'verify', signed, '--trust', root, '--device-type', 'gw-999']), 'SLW_ARTIFACT_DEVICE_TYPE');
    });

    test('refuses a rollback below the installed security version (SLW_ARTIFACT_ROLLBACK)', async () => {
      assertFails(await slipway(['artifact', 'verify', signed, '--trust', root, '--security-version', '6']), 'SLW_ARTIFACT_ROLLBACK');
      assertOk(await slipway(['artifact', 'verify', signed, '--trust', root, '--security-version', '4']));
    });

    test('refuses an artifact with one flipped payload byte', async () => {
      const bytes = await readFile(signed);
      const at = bytes.indexOf(payloadBytes.subarray(1000, 1064));
      assert.ok(at > 0, 'the uncompressed payload is stored verbatim');
      const tampered = s.path('tampered-payload.slw');
      await writeFile(tampered, flipByte(bytes, at + 10));
      assertFails(await slipway(['artifact', 'verify', tampered, '--trust', root]), /^SLW_ARTIFACT_/);
    });

    test('refuses an artifact whose signed manifest was edited (device type widened)', async () => {
      const bytes = await readFile(signed);
      const at = bytes.indexOf(Buffer.from('"gw-110"'));
      assert.ok(at > 0);
      const tampered = s.path('tampered-manifest.slw');
      const edited = Buffer.from(bytes);
      edited.write('"gw-999"', at, 'latin1');
      await writeFile(tampered, edited);
      assertFails(await slipway(['artifact', 'verify', tampered, '--trust', root]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
    });

    test('refuses a truncated artifact and one with bytes appended', async () => {
      const bytes = await readFile(signed);
      await writeFile(s.path('short.slw'), bytes.subarray(0, bytes.length - 2000));
      assertFails(await slipway(['artifact', 'verify', s.path('short.slw'), '--trust', root]), /^SLW_ARTIFACT_/);
      await writeFile(s.path('long.slw'), Buffer.concat([bytes, randomBytes(512)]));
      assertFails(await slipway(['artifact', 'verify', s.path('long.slw'), '--trust', root]), /^SLW_ARTIFACT_/);
    });

    test('refuses an unsigned artifact and one signed by a key the root does not name (SLW_ARTIFACT_SIGNATURE_INVALID)', async () => {
      const unsigned = await makeArtifact(s, 'unsigned.slw', { payloads: [payload] });
      assertFails(await slipway(['artifact', 'verify', unsigned, '--trust', root]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertOk(await slipway(['artifact', 'sign', unsigned, '--key', stranger.key]));
      assertFails(await slipway(['artifact', 'verify', unsigned, '--trust', root]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
      // A root key is not a release key either.
      assertOk(await slipway(['artifact', 'sign', unsigned, '--key', rootKey.key]));
      assertFails(await slipway(['artifact', 'verify', unsigned, '--trust', root]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
    });

    test('a 2-of-2 release threshold needs both release signatures', async () => {
      const out = await makeArtifact(s, 'two.slw', { payloads: [payload] });
      assertOk(await slipway(['artifact', 'sign', out, '--key', release.key]));
      assertFails(await slipway(['artifact', 'verify', out, '--trust', rootTwoOfTwo]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
      // Signing twice with the same key still counts once.
      assertOk(await slipway(['artifact', 'sign', out, '--key', release.key]));
      assertFails(await slipway(['artifact', 'verify', out, '--trust', rootTwoOfTwo]), 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertOk(await slipway(['artifact', 'sign', out, '--key', release2.key]));
      const result = await slipway(['artifact', 'verify', out, '--trust', rootTwoOfTwo, '--json']);
      assertOk(result);
      assert.deepEqual(new Set(parseJson<{ signedBy: string[] }>(result).signedBy), new Set([release.keyId, release2.keyId]));
    });

    test('refuses an artifact past its signed expiry (SLW_ARTIFACT_EXPIRED)', async () => {
      const made = new Date(Date.now() - 10 * DAY_MS);
      const out = await makeArtifact(s, 'expiring.slw', {
        payloads: [payload],
        extraArgs: ['--expires', '1d', '--key', release.key],
        now: made,
      });
      assertOk(await slipway(['artifact', 'verify', out, '--trust', root], { now: made }));
      assertFails(await slipway(['artifact', 'verify', out, '--trust', root]), 'SLW_ARTIFACT_EXPIRED');
    });

    test('refuses to verify under an expired or unsigned trust root', async () => {
      const made = new Date(Date.now() - 10 * DAY_MS);
      const expired = await makeRoot(s, 'expired-root.json', {
        rootKeys: [rootKey],
        releaseKeys: [release],
        extraArgs: ['--expires', '1d'],
        now: made,
      });
      assertFails(await slipway(['artifact', 'verify', signed, '--trust', expired]), 'SLW_TRUST_ROOT_EXPIRED');
      const unsignedRoot = await makeRoot(s, 'unsigned-root.json', { rootKeys: [rootKey], releaseKeys: [release], signedBy: [] });
      assertFails(await slipway(['artifact', 'verify', signed, '--trust', unsignedRoot]), 'SLW_TRUST_ROOT_THRESHOLD');
    });
  });

  describe('inspect', () => {
    test('shows the manifest and signatures as text without a root', async () => {
      const out = await makeArtifact(s, 'inspect.slw', {
        name: 'gateway-os',
        version: '9.9.9',
        deviceTypes: ['gw-100', 'gw-300'],
        payloads: [payload],
        extraArgs: ['--security-version', '12', '--key', release.key],
      });
      const result = await slipway(['artifact', 'inspect', out]);
      assertOk(result);
      assert.match(result.stdout, /^gateway-os 9\.9\.9 {2}\(security version 12, rootfs\)$/m);
      assert.match(result.stdout, /^device types: gw-100, gw-300$/m);
      assert.match(result.stdout, /^ {2}rootfs\.img {2}6000 bytes \(zstd, /m);
      assert.match(result.stdout, /^signatures: 1$/m);
      assert.doesNotMatch(result.stdout, /valid release signature/, 'no verdict without --trust');
    });

    test('--trust marks which signatures are valid release signatures of that root', async () => {
      const out = await makeArtifact(s, 'inspect-trust.slw', {
        payloads: [payload],
        extraArgs: ['--key', release.key, '--key', stranger.key],
      });
      const text = await slipway(['artifact', 'inspect', out, '--trust', root]);
      assertOk(text);
      assert.match(text.stdout, new RegExp(`^ {2}${release.keyId.slice(0, 16)} {2}valid release signature$`, 'm'));
      assert.match(text.stdout, new RegExp(`^ {2}${stranger.keyId.slice(0, 16)} {2}NOT a valid release signature$`, 'm'));
      const { signatures } = await inspect(out, '--trust', root);
      assert.deepEqual(
        [...signatures].sort((a, b) => a.keyId.localeCompare(b.keyId)),
        [
          { keyId: release.keyId, validReleaseSignature: true },
          { keyId: stranger.keyId, validReleaseSignature: false },
        ].sort((a, b) => a.keyId.localeCompare(b.keyId)),
      );
      const { signatures: plain } = await inspect(out);
      assert.ok(
        plain.every((sig) => sig.validReleaseSignature === undefined),
        'no verdict without --trust',
      );
    });

    test('inspect on a tampered signature shows it as not valid rather than failing', async () => {
      const out = s.path('copy.slw');
      await copyFile(await makeArtifact(s, 'orig.slw', { payloads: [payload], extraArgs: ['--key', release.key] }), out);
      const bytes = await readFile(out);
      const at = bytes.indexOf(Buffer.from('"gateway-os"'));
      const edited = Buffer.from(bytes);
      edited.write('"gateway-oz"', at, 'latin1');
      await writeFile(out, edited);
      const { signatures } = await inspect(out, '--trust', root);
      assert.deepEqual(signatures, [{ keyId: release.keyId, validReleaseSignature: false }]);
    });
  });
});

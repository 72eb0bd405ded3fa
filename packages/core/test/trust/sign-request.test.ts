import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  acceptDetachedSignature,
  addArtifactSignature,
  buildRoot,
  createSignRequest,
  type DetachedSignature,
  keyIdOf,
  type OpenedSignRequest,
  openSignRequest,
  PAYLOAD_TYPE_MANIFEST,
  PAYLOAD_TYPE_ROOT,
  type ParsedRoot,
  parseRoot,
  readArtifactHead,
  type SignRequest,
  type SlipwayPayloadType,
  serializeEnvelope,
  signArtifactFile,
  signPayload,
  signRequest,
  toTimestamp,
  verifyRoot,
} from '../../src/index.js';
import {
  DAY_MS,
  makeArtifact,
  makeKey,
  makeTrustedRoot,
  NOW,
  readAll,
  scratchDir,
  signRootBytes,
  slipwayError,
  type TestKey,
} from '../support/fixtures.js';

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
}

/** A loosely typed deep copy that a test may change in any way, serialized back to JSON bytes. */
function doctored<T>(value: T, change: (copy: Record<string, unknown> & T) => void): Buffer {
  const copy = structuredClone(value) as Record<string, unknown> & T;
  change(copy);
  return json(copy);
}

/** The whole air-gapped round trip: request file -> offline machine -> signature file. */
async function signViaRequest(payloadType: SlipwayPayloadType, bytes: Uint8Array, key: TestKey): Promise<Buffer> {
  const requestFile = json(createSignRequest(payloadType, bytes));
  const opened = openSignRequest(requestFile);
  return json(await signRequest(opened, key.signer));
}

describe('air-gapped signing', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let edKey: TestKey;
  let ecKey: TestKey;
  let otherKey: TestKey;
  let artifactPath: string;
  let manifestBytes: Buffer;
  let otherManifestBytes: Buffer;
  let payloadSha256: string;
  let root: ParsedRoot;
  let rootKeys: [TestKey, TestKey];

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    edKey = makeKey('ed25519');
    ecKey = makeKey('ecdsa-p256');
    otherKey = makeKey('ed25519');
    const artifact = await makeArtifact(dir, { contents: [randomBytes(20_000)], expiresAt: new Date(NOW.getTime() + 90 * DAY_MS) });
    artifactPath = artifact.path;
    payloadSha256 = sha256Hex(artifact.payloads[0] ?? Buffer.alloc(0));
    manifestBytes = (await readArtifactHead(artifact.path)).manifestBytes;
    const other = await makeArtifact(dir, { contents: [randomBytes(20_000)], version: '1.0.1' });
    otherManifestBytes = (await readArtifactHead(other.path)).manifestBytes;
    rootKeys = [makeKey(), makeKey('ecdsa-p256')];
    root = buildRoot({
      version: 4,
      expires: toTimestamp(new Date(NOW.getTime() + 365 * DAY_MS)),
      rootKeys: rootKeys.map((k) => k.signer.publicKey),
      releaseKeys: [edKey.signer.publicKey, ecKey.signer.publicKey],
      rootThreshold: 2,
      releaseThreshold: 1,
    });
  });
  after(() => cleanup());

  describe('a sign request for an artifact manifest', () => {
    let request: SignRequest;
    before(() => {
      request = createSignRequest(PAYLOAD_TYPE_MANIFEST, manifestBytes);
    });

    test('carries the exact manifest bytes, their SHA-256 and a summary derived from them', () => {
      assert.equal(request.type, 'slipway-sign-request');
      assert.equal(request.payloadType, PAYLOAD_TYPE_MANIFEST);
      assert.ok(Buffer.from(request.payload, 'base64').equals(manifestBytes));
      assert.equal(request.payloadSha256, sha256Hex(manifestBytes));
      assert.deepEqual(request.summary, {
        kind: 'artifact',
        name: 'gateway-os',
        version: '1.0.0',
        securityVersion: 5,
        deviceTypes: ['gw-100'],
        payloadType: 'rootfs',
        payloads: [{ name: 'payload-0.bin', uncompressedSize: 20_000, sha256: payloadSha256 }],
        createdAt: toTimestamp(NOW),
        expiresAt: toTimestamp(new Date(NOW.getTime() + 90 * DAY_MS)),
      });
    });

    test('opens on the offline machine with the summary recomputed from the bytes', () => {
      const opened = openSignRequest(json(request));
      assert.ok(opened.bytes.equals(manifestBytes));
      assert.deepEqual(opened.summary, request.summary);
    });

    const summaryDoctors: readonly [string, (summary: Record<string, unknown>) => void][] = [
      ['the version', (s) => Object.assign(s, { version: '9.9.9' })],
      ['the security version', (s) => Object.assign(s, { securityVersion: 6 })],
      ['the device types', (s) => Object.assign(s, { deviceTypes: ['gw-100', 'gw-200'] })],
      ['the name', (s) => Object.assign(s, { name: 'harmless-tool' })],
      ['the expiry (removed)', (s) => Reflect.deleteProperty(s, 'expiresAt')],
      ['an added reassuring note', (s) => Object.assign(s, { note: 'reviewed by security' })],
    ];
    for (const [what, change] of summaryDoctors) {
      test(`a request whose summary misstates ${what} is refused`, () => {
        const bytes = doctored(request, (r) => change(r.summary));
        assert.throws(() => openSignRequest(bytes), slipwayError('SLW_SIGN_REQUEST_MISMATCH'));
      });
    }

    test('a request whose payload does not match its payloadSha256 is refused', () => {
      const swapped = doctored(request, (r) => Object.assign(r, { payload: otherManifestBytes.toString('base64') }));
      assert.throws(() => openSignRequest(swapped), slipwayError('SLW_SIGN_REQUEST_MISMATCH'));
      const wrongHash = doctored(request, (r) => Object.assign(r, { payloadSha256: sha256Hex(otherManifestBytes) }));
      assert.throws(() => openSignRequest(wrongHash), slipwayError('SLW_SIGN_REQUEST_MISMATCH'));
    });

    test('a request with another payload and its hash but the original summary is refused', () => {
      // The attacker swaps in other bytes and fixes the hash, hoping the human reads the old summary.
      const swapped = doctored(request, (r) =>
        Object.assign(r, { payload: otherManifestBytes.toString('base64'), payloadSha256: sha256Hex(otherManifestBytes) }),
      );
      assert.throws(() => openSignRequest(swapped), slipwayError('SLW_SIGN_REQUEST_MISMATCH'));
    });

    const malformed: readonly [string, () => Buffer][] = [
      ['bytes that are not JSON', () => Buffer.from('{"type": "slipway-sign-request",')],
      ['JSON null', () => Buffer.from('null')],
      ['no payloadSha256', () => doctored(request, (r) => Reflect.deleteProperty(r, 'payloadSha256'))],
      ['no summary', () => doctored(request, (r) => Reflect.deleteProperty(r, 'summary'))],
      ['an unknown field', () => doctored(request, (r) => Object.assign(r, { signNow: true }))],
      ['another type', () => doctored(request, (r) => Object.assign(r, { type: 'slipway-signature' }))],
      ['spec version 2', () => doctored(request, (r) => Object.assign(r, { specVersion: 2 }))],
      ['an unknown payload type', () => doctored(request, (r) => Object.assign(r, { payloadType: 'application/octet-stream' }))],
      ['a payload that is not base64', () => doctored(request, (r) => Object.assign(r, { payload: '{"not":"base64"}' }))],
      ['a payloadSha256 in upper case', () => doctored(request, (r) => Object.assign(r, { payloadSha256: r.payloadSha256.toUpperCase() }))],
    ];
    for (const [what, make] of malformed) {
      test(`a request file with ${what} is refused as invalid`, () => {
        assert.throws(() => openSignRequest(make()), slipwayError('SLW_SIGN_REQUEST_INVALID'));
      });
    }

    test('a request that declares a manifest but carries a root body is refused as invalid', () => {
      const mislabelled = { ...createSignRequest(PAYLOAD_TYPE_ROOT, root.envelope.payload), payloadType: PAYLOAD_TYPE_MANIFEST };
      assert.throws(() => openSignRequest(json(mislabelled)), slipwayError('SLW_SIGN_REQUEST_INVALID'));
    });
  });

  describe('a detached signature', () => {
    let detached: DetachedSignature;
    before(async () => {
      detached = JSON.parse((await signViaRequest(PAYLOAD_TYPE_MANIFEST, manifestBytes, edKey)).toString('utf8')) as DetachedSignature;
    });

    test('names the signed bytes, the key and its public key, and verifies against the same bytes', () => {
      assert.equal(detached.type, 'slipway-signature');
      assert.equal(detached.payloadType, PAYLOAD_TYPE_MANIFEST);
      assert.equal(detached.payloadSha256, sha256Hex(manifestBytes));
      assert.equal(detached.keyid, edKey.keyId);
      assert.equal(detached.publicKey, edKey.signer.publicKey.pem);
      assert.deepEqual(acceptDetachedSignature(json(detached), PAYLOAD_TYPE_MANIFEST, manifestBytes), {
        keyid: edKey.keyId,
        sig: detached.sig,
      });
    });

    test('attached to another artifact is refused as made for another target', () => {
      assert.throws(
        () => acceptDetachedSignature(json(detached), PAYLOAD_TYPE_MANIFEST, otherManifestBytes),
        slipwayError('SLW_SIGN_WRONG_TARGET'),
      );
    });

    test('made for a manifest is refused as a signature over a root (domain separation)', () => {
      const asRoot = doctored(detached, (d) => Object.assign(d, { payloadType: PAYLOAD_TYPE_ROOT }));
      assert.throws(() => acceptDetachedSignature(asRoot, PAYLOAD_TYPE_MANIFEST, manifestBytes), slipwayError('SLW_SIGN_WRONG_TARGET'));
      assert.throws(() => acceptDetachedSignature(json(detached), PAYLOAD_TYPE_ROOT, manifestBytes), slipwayError('SLW_SIGN_WRONG_TARGET'));
    });

    test('retargeted by rewriting its payloadSha256 still fails, because the signature does not cover the other bytes', () => {
      const retargeted = doctored(detached, (d) => Object.assign(d, { payloadSha256: sha256Hex(otherManifestBytes) }));
      assert.throws(
        () => acceptDetachedSignature(retargeted, PAYLOAD_TYPE_MANIFEST, otherManifestBytes),
        slipwayError('SLW_SIGN_SIGNATURE_INVALID'),
      );
    });

    test('whose public key does not match its key ID is refused', () => {
      const swapped = doctored(detached, (d) => Object.assign(d, { publicKey: otherKey.signer.publicKey.pem }));
      assert.throws(() => acceptDetachedSignature(swapped, PAYLOAD_TYPE_MANIFEST, manifestBytes), slipwayError('SLW_KEY_ID_MISMATCH'));
    });

    test('with a forged signature value is refused', async () => {
      const random = doctored(detached, (d) => Object.assign(d, { sig: randomBytes(64).toString('base64') }));
      assert.throws(
        () => acceptDetachedSignature(random, PAYLOAD_TYPE_MANIFEST, manifestBytes),
        slipwayError('SLW_SIGN_SIGNATURE_INVALID'),
      );
      // A real signature by another key, presented under this key's name.
      const byOther = await signPayload(otherKey.signer, PAYLOAD_TYPE_MANIFEST, manifestBytes);
      const borrowed = doctored(detached, (d) => Object.assign(d, { sig: byOther.sig }));
      assert.throws(
        () => acceptDetachedSignature(borrowed, PAYLOAD_TYPE_MANIFEST, manifestBytes),
        slipwayError('SLW_SIGN_SIGNATURE_INVALID'),
      );
    });

    test('by a key that policy refuses is refused', () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      const byWeak = doctored(detached, (d) =>
        Object.assign(d, { keyid: keyIdOf(weak), publicKey: weak.export({ type: 'spki', format: 'pem' }).toString() }),
      );
      assert.throws(() => acceptDetachedSignature(byWeak, PAYLOAD_TYPE_MANIFEST, manifestBytes), slipwayError('SLW_KEY_TOO_WEAK'));
    });

    test('carrying a private key in place of its public key is refused', () => {
      const leaky = doctored(detached, (d) => Object.assign(d, { publicKey: edKey.privatePem }));
      assert.throws(() => acceptDetachedSignature(leaky, PAYLOAD_TYPE_MANIFEST, manifestBytes), slipwayError('SLW_KEY_INVALID'));
    });

    const malformed: readonly [string, () => Buffer][] = [
      ['bytes that are not JSON', () => Buffer.from('sig=abc')],
      ['no signature value', () => doctored(detached, (d) => Reflect.deleteProperty(d, 'sig'))],
      ['an unknown field', () => doctored(detached, (d) => Object.assign(d, { scheme: 'ed25519' }))],
      ['the type of a sign request', () => doctored(detached, (d) => Object.assign(d, { type: 'slipway-sign-request' }))],
      ['a key ID that is not hex', () => doctored(detached, (d) => Object.assign(d, { keyid: 'release-key-1' }))],
    ];
    for (const [what, make] of malformed) {
      test(`a signature file with ${what} is refused as invalid`, () => {
        assert.throws(
          () => acceptDetachedSignature(make(), PAYLOAD_TYPE_MANIFEST, manifestBytes),
          slipwayError('SLW_SIGN_REQUEST_INVALID'),
        );
      });
    }
  });

  describe('signing an artifact through a request equals signing it in place', () => {
    async function twoCopies(name: string): Promise<{ inPlace: string; viaRequest: string }> {
      const inPlace = join(dir, `${name}-in-place.slw`);
      const viaRequest = join(dir, `${name}-via-request.slw`);
      await copyFile(artifactPath, inPlace);
      await copyFile(artifactPath, viaRequest);
      return { inPlace, viaRequest };
    }

    async function attachViaRequest(path: string, key: TestKey): Promise<void> {
      const head = await readArtifactHead(path);
      const signatureFile = await signViaRequest(PAYLOAD_TYPE_MANIFEST, head.manifestBytes, key);
      await addArtifactSignature(path, acceptDetachedSignature(signatureFile, PAYLOAD_TYPE_MANIFEST, head.manifestBytes));
    }

    test('with Ed25519 (deterministic) the two files are byte for byte identical', async () => {
      const { inPlace, viaRequest } = await twoCopies('ed25519');
      await signArtifactFile(inPlace, edKey.signer);
      await attachViaRequest(viaRequest, edKey);
      const [a, b, unsigned] = await Promise.all([readFile(inPlace), readFile(viaRequest), readFile(artifactPath)]);
      assert.ok(!a.equals(unsigned), 'signing changed the file');
      assert.ok(a.equals(b), 'signed in place and signed via request are identical');
      const trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [edKey] });
      assert.equal((await readAll(b, trust)).length, 1);
    });

    test('with ECDSA (randomized) the stored signature entries match in form and both verify', async () => {
      const { inPlace, viaRequest } = await twoCopies('ecdsa');
      await signArtifactFile(inPlace, ecKey.signer);
      await attachViaRequest(viaRequest, ecKey);
      const [headA, headB] = await Promise.all([readArtifactHead(inPlace), readArtifactHead(viaRequest)]);
      assert.equal(headA.signatures.length, 1);
      assert.equal(headB.signatures.length, 1);
      const [sigA, sigB] = [headA.signatures[0], headB.signatures[0]];
      assert.ok(sigA && sigB);
      assert.deepEqual(Object.keys(sigB).sort(), Object.keys(sigA).sort());
      assert.equal(sigA.keyid, ecKey.keyId);
      assert.equal(sigB.keyid, ecKey.keyId);
      assert.equal(Buffer.from(sigA.sig, 'base64').length, 64);
      assert.equal(Buffer.from(sigB.sig, 'base64').length, 64);
      assert.deepEqual(headB.layout, { ...headA.layout, signatureSlots: { ...headA.layout.signatureSlots, signatures: headB.signatures } });
      // Outside the signature block the files are identical.
      const [a, b] = await Promise.all([readFile(inPlace), readFile(viaRequest)]);
      const { signatureBlockOffset: start, signatureBlockSize: size } = headA.layout;
      assert.equal(a.length, b.length);
      assert.ok(a.subarray(0, start).equals(b.subarray(0, start)));
      assert.ok(a.subarray(start + size).equals(b.subarray(start + size)));
      const trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [ecKey] });
      assert.equal((await readAll(a, trust)).length, 1);
      assert.equal((await readAll(b, trust)).length, 1);
    });
  });

  describe('a sign request for a trust root', () => {
    let request: SignRequest;
    before(() => {
      request = createSignRequest(PAYLOAD_TYPE_ROOT, root.envelope.payload);
    });

    test('summarizes the version, expiry, keys and thresholds of the root', () => {
      assert.deepEqual(request.summary, {
        kind: 'root',
        version: 4,
        expires: root.body.expires,
        rootKeys: rootKeys.map((k) => k.keyId),
        rootThreshold: 2,
        releaseKeys: [edKey.keyId, ecKey.keyId],
        releaseThreshold: 1,
      });
    });

    const summaryDoctors: readonly [string, (summary: Record<string, unknown>) => void][] = [
      ['the root threshold', (s) => Object.assign(s, { rootThreshold: 1 })],
      ['the release keys', (s) => Object.assign(s, { releaseKeys: [edKey.keyId] })],
      ['the version', (s) => Object.assign(s, { version: 5 })],
      ['the expiry', (s) => Object.assign(s, { expires: '2030-01-01T00:00:00Z' })],
    ];
    for (const [what, change] of summaryDoctors) {
      test(`a root request whose summary misstates ${what} is refused`, () => {
        assert.throws(() => openSignRequest(doctored(request, (r) => change(r.summary))), slipwayError('SLW_SIGN_REQUEST_MISMATCH'));
      });
    }

    test('a request that declares a root but carries a manifest is refused as invalid', () => {
      const mislabelled = { ...createSignRequest(PAYLOAD_TYPE_MANIFEST, manifestBytes), payloadType: PAYLOAD_TYPE_ROOT };
      assert.throws(() => openSignRequest(json(mislabelled)), slipwayError('SLW_SIGN_REQUEST_INVALID'));
    });

    test('signatures made offline and attached make the root trusted, exactly as signing it directly', async () => {
      const signatures = [];
      for (const key of rootKeys) {
        const signatureFile = await signViaRequest(PAYLOAD_TYPE_ROOT, root.envelope.payload, key);
        signatures.push(acceptDetachedSignature(signatureFile, PAYLOAD_TYPE_ROOT, root.envelope.payload));
      }
      const bytes = Buffer.from(serializeEnvelope({ ...root.envelope, signatures }));
      const trusted = verifyRoot(parseRoot(bytes), { now: NOW });
      assert.deepEqual([...trusted.signedBy].sort(), rootKeys.map((k) => k.keyId).sort());
      // The Ed25519 signature is deterministic, so that one entry matches direct signing exactly.
      const [edRootKey] = rootKeys;
      const direct = parseRoot(await signRootBytes(root, [edRootKey]));
      assert.deepEqual(signatures[0], direct.envelope.signatures[0]);
    });

    test('a root signature attached to another version of the root is refused as made for another target', async () => {
      const [edRootKey] = rootKeys;
      const signatureFile = await signViaRequest(PAYLOAD_TYPE_ROOT, root.envelope.payload, edRootKey);
      const v5 = buildRoot({
        version: 5,
        expires: root.body.expires,
        rootKeys: rootKeys.map((k) => k.signer.publicKey),
        releaseKeys: [edKey.signer.publicKey, ecKey.signer.publicKey],
        rootThreshold: 2,
        releaseThreshold: 1,
      });
      assert.throws(
        () => acceptDetachedSignature(signatureFile, PAYLOAD_TYPE_ROOT, v5.envelope.payload),
        slipwayError('SLW_SIGN_WRONG_TARGET'),
      );
      // And a manifest's signature file cannot be attached to a root either.
      const manifestSignature = await signViaRequest(PAYLOAD_TYPE_MANIFEST, manifestBytes, edRootKey);
      assert.throws(
        () => acceptDetachedSignature(manifestSignature, PAYLOAD_TYPE_ROOT, root.envelope.payload),
        slipwayError('SLW_SIGN_WRONG_TARGET'),
      );
    });
  });

  test('signRequest signs the opened bytes with the given key, for any scheme', async () => {
    const opened: OpenedSignRequest = openSignRequest(json(createSignRequest(PAYLOAD_TYPE_MANIFEST, manifestBytes)));
    const detached = await signRequest(opened, ecKey.signer);
    assert.equal(detached.payloadSha256, sha256Hex(manifestBytes));
    assert.equal(detached.keyid, ecKey.keyId);
    assert.deepEqual(acceptDetachedSignature(json(detached), PAYLOAD_TYPE_MANIFEST, manifestBytes).keyid, ecKey.keyId);
  });
});

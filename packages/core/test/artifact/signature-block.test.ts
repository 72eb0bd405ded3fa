// Signing in place: a signature goes, one generation up, into the signature slot not in use, and
// nothing else in the file moves. These tests look at the file's bytes before and after.
import assert from 'node:assert/strict';
import { generateKeyPair } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type ArtifactLayout,
  addArtifactSignature,
  createArtifact,
  encodeSignatureSlot,
  fileKeySigner,
  MAX_SIGNATURES,
  MIN_SIGNATURE_SPACE,
  openArtifactFile,
  PAYLOAD_TYPE_MANIFEST,
  parsePrivateKey,
  readArtifactHead,
  type Signature,
  SlipwayError,
  signArtifactFile,
  signPayload,
} from '../../src/index.js';
import { makeArtifact, makeKey, makeTrustedRoot, NOW, scratchDir, type TestKey } from '../support/fixtures.js';

async function layoutOf(path: string): Promise<ArtifactLayout> {
  return (await readArtifactHead(path)).layout;
}

/** The file's bytes with the signature block cut out: what signing must never change. */
function outsideBlock(bytes: Buffer, layout: ArtifactLayout): Buffer {
  return Buffer.concat([
    bytes.subarray(0, layout.signatureBlockOffset),
    bytes.subarray(layout.signatureBlockOffset + layout.signatureBlockSize),
  ]);
}

function slotBytes(bytes: Buffer, layout: ArtifactLayout, slot: 0 | 1): Buffer {
  const start = layout.signatureBlockOffset + slot * layout.signatureSlots.slotBytes;
  return bytes.subarray(start, start + layout.signatureSlots.slotBytes);
}

async function writeAt(path: string, bytes: Uint8Array, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, position);
  } finally {
    await handle.close();
  }
}

/** RSA-4096 generation is slow; the async form lets two keys be made in parallel on the thread pool. */
async function makeRsa4096Key(): Promise<TestKey> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 4096, publicExponent: 65537 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const signer = fileKeySigner(parsePrivateKey(privatePem));
  return { signer, privatePem, keyId: signer.keyId };
}

async function assertRejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof SlipwayError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('signing artifacts in place', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let keyA: TestKey;
  let keyB: TestKey;

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    keyA = makeKey();
    keyB = makeKey('ecdsa-p256');
  });
  after(() => cleanup());

  test('writes generation G+1 into the inactive slot and never changes a byte outside it', async () => {
    const artifact = await makeArtifact(dir, { contents: [Buffer.alloc(70_000, 'rootfs '), Buffer.from('kernel')], signatureSpace: 4096 });
    const fresh = await layoutOf(artifact.path);
    assert.equal(fresh.signatureSlots.generation, 0);
    assert.equal(fresh.signatureSlots.activeSlot, 0);
    assert.deepEqual(fresh.signatureSlots.signatures, []);

    await signArtifactFile(artifact.path, keyA.signer);
    const once = await readFile(artifact.path);
    const afterA = await layoutOf(artifact.path);
    assert.deepEqual(
      afterA.signatureSlots.signatures.map((s) => s.keyid),
      [keyA.keyId],
    );
    assert.equal(afterA.signatureSlots.generation, 1);
    assert.equal(afterA.signatureSlots.activeSlot, 1);
    assert.ok(outsideBlock(once, afterA).equals(outsideBlock(artifact.bytes, fresh)), 'bytes outside the signature block changed');
    assert.ok(slotBytes(once, afterA, 0).equals(slotBytes(artifact.bytes, fresh, 0)), 'the slot in use was overwritten');
    assert.equal(once.length, artifact.bytes.length);

    await signArtifactFile(artifact.path, keyB.signer);
    const twice = await readFile(artifact.path);
    const afterB = await layoutOf(artifact.path);
    assert.deepEqual(
      afterB.signatureSlots.signatures.map((s) => s.keyid),
      [keyA.keyId, keyB.keyId],
    );
    assert.equal(afterB.signatureSlots.generation, 2);
    assert.equal(afterB.signatureSlots.activeSlot, 0);
    assert.ok(outsideBlock(twice, afterB).equals(outsideBlock(artifact.bytes, fresh)), 'bytes outside the signature block changed');
    assert.ok(slotBytes(twice, afterB, 1).equals(slotBytes(once, afterA, 1)), 'the slot in use was overwritten');

    // Both signatures count under a 2-of-2 root, and the payloads read back unchanged.
    const trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [keyA, keyB], releaseThreshold: 2 });
    const reader = await openArtifactFile(artifact.path, trust);
    assert.deepEqual([...reader.signedBy].sort(), [keyA.keyId, keyB.keyId].sort());
    const read: Buffer[] = [];
    for await (const payload of reader.payloads()) {
      const parts: Buffer[] = [];
      for await (const chunk of payload) parts.push(Buffer.from(chunk));
      read.push(Buffer.concat(parts));
    }
    assert.deepEqual(read, artifact.payloads);
  });

  test('re-signing with the same key replaces its signature instead of adding one', async () => {
    const artifact = await makeArtifact(dir, { contents: [Buffer.from('payload')], signatureSpace: 4096 });
    // ECDSA signatures differ every time, so a replacement is visible.
    const first = await signArtifactFile(artifact.path, keyB.signer);
    const second = await signArtifactFile(artifact.path, keyB.signer);
    assert.notEqual(first.sig, second.sig);
    const layout = await layoutOf(artifact.path);
    assert.deepEqual(layout.signatureSlots.signatures, [second]);
    assert.equal(layout.signatureSlots.generation, 2);

    await signArtifactFile(artifact.path, keyA.signer);
    await signArtifactFile(artifact.path, keyA.signer);
    const final = await layoutOf(artifact.path);
    assert.deepEqual(
      final.signatureSlots.signatures.map((s) => s.keyid),
      [keyB.keyId, keyA.keyId],
    );
    assert.equal(final.signatureSlots.generation, 4);
  });

  test('a crash that tears the slot being written leaves the previous signatures in force', async () => {
    const artifact = await makeArtifact(dir, { contents: [Buffer.alloc(5000, 'x')], signatureSpace: 4096 });
    const trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [keyA] });
    await signArtifactFile(artifact.path, keyA.signer);
    const signed = await readFile(artifact.path);
    const before = await layoutOf(artifact.path);
    const { slotBytes: size, activeSlot, generation } = before.signatureSlots;
    const inactive = activeSlot === 0 ? 1 : 0;
    const target = before.signatureBlockOffset + inactive * size;

    // What signing with B would write, and the states a power cut could leave mid-write.
    const head = await readArtifactHead(artifact.path);
    const sigB = await signPayload(keyB.signer, PAYLOAD_TYPE_MANIFEST, head.manifestBytes);
    const complete = encodeSignatureSlot([...before.signatureSlots.signatures, sigB], generation + 1, size);
    const oldInactive = slotBytes(signed, before, inactive);
    const jsonLength = complete.indexOf(0x0a) + 1;
    // Cut anywhere before the closing brace: once the whole JSON is through, the slot is simply written.
    for (const cut of [1, 10, 100, jsonLength >> 1, jsonLength - 2]) {
      const torn = Buffer.concat([complete.subarray(0, cut), oldInactive.subarray(cut)]);
      await writeAt(artifact.path, torn, target);
      const layout = await layoutOf(artifact.path);
      assert.equal(layout.signatureSlots.generation, generation, `torn after ${cut} bytes`);
      assert.deepEqual(layout.signatureSlots.signatures, before.signatureSlots.signatures, `torn after ${cut} bytes`);
      const reader = await openArtifactFile(artifact.path, trust);
      assert.deepEqual(reader.signedBy, [keyA.keyId], `torn after ${cut} bytes`);
      await reader.verifyPayloads();
    }
    // Garbage (a sector of random data) in the slot being written is a torn slot too.
    await writeAt(artifact.path, Buffer.alloc(size, 0xa5), target);
    assert.deepEqual((await layoutOf(artifact.path)).signatureSlots.signatures, before.signatureSlots.signatures);
    const reader = await openArtifactFile(artifact.path, trust);
    await reader.verifyPayloads();

    // Signing again after the crash writes the same slot and succeeds.
    await addArtifactSignature(artifact.path, sigB);
    const recovered = await layoutOf(artifact.path);
    assert.equal(recovered.signatureSlots.generation, generation + 1);
    assert.equal(recovered.signatureSlots.activeSlot, inactive);
    assert.deepEqual(
      recovered.signatureSlots.signatures.map((s) => s.keyid),
      [keyA.keyId, keyB.keyId],
    );
    assert.ok(outsideBlock(await readFile(artifact.path), recovered).equals(outsideBlock(signed, before)));
  });

  describe('a full signature block', () => {
    let rsa1: TestKey;
    let rsa2: TestKey;
    before(async () => {
      [rsa1, rsa2] = await Promise.all([makeRsa4096Key(), makeRsa4096Key()]);
    });

    test('refuses a signature that does not fit with SLW_ARTIFACT_SIGNATURE_SPACE and leaves the file unchanged', async () => {
      const artifact = await makeArtifact(dir, { contents: [Buffer.from('payload')], signatureSpace: MIN_SIGNATURE_SPACE });
      await signArtifactFile(artifact.path, rsa1.signer); // one RSA-4096 signature fits a 1 KiB slot
      const oneSigned = await readFile(artifact.path);
      await assertRejectsWith(signArtifactFile(artifact.path, rsa2.signer), 'SLW_ARTIFACT_SIGNATURE_SPACE');
      assert.ok((await readFile(artifact.path)).equals(oneSigned), 'a refused signature changed the file');
      const layout = await layoutOf(artifact.path);
      assert.deepEqual(
        layout.signatureSlots.signatures.map((s) => s.keyid),
        [rsa1.keyId],
      );
      // Replacing the one signature still fits: the block is full, not broken.
      await signArtifactFile(artifact.path, rsa1.signer);
      assert.equal((await layoutOf(artifact.path)).signatureSlots.generation, 2);
    });

    test('refuses to create an artifact whose signatures do not fit its signature space', async () => {
      const artifact = await makeArtifact(dir, { contents: [Buffer.from('payload')] });
      const out = `${artifact.path}.small.slw`;
      await assertRejectsWith(
        createArtifact(out, {
          name: 'gateway-os',
          version: '1.0.0',
          securityVersion: 1,
          deviceTypes: ['gw-100'],
          payloadType: 'rootfs',
          payloads: [{ path: join(dir, 'payload-0.bin') }],
          compression: 'none',
          now: NOW,
          signers: [rsa1.signer, rsa2.signer],
          signatureSpace: MIN_SIGNATURE_SPACE,
        }),
        'SLW_ARTIFACT_SIGNATURE_SPACE',
      );
      await assert.rejects(readFile(out), { code: 'ENOENT' });
    });
  });

  test(`refuses signature number ${MAX_SIGNATURES + 1} with SLW_ARTIFACT_TOO_MANY_SIGNATURES`, async () => {
    const artifact = await makeArtifact(dir, { contents: [Buffer.from('payload')] });
    const head = await readArtifactHead(artifact.path);
    const signatures: Signature[] = [];
    for (let i = 0; i <= MAX_SIGNATURES; i++)
      signatures.push(await signPayload(makeKey().signer, PAYLOAD_TYPE_MANIFEST, head.manifestBytes));
    for (const signature of signatures.slice(0, MAX_SIGNATURES)) await addArtifactSignature(artifact.path, signature);
    const full = await readFile(artifact.path);
    assert.equal((await layoutOf(artifact.path)).signatureSlots.signatures.length, MAX_SIGNATURES);
    await assertRejectsWith(
      addArtifactSignature(artifact.path, signatures[MAX_SIGNATURES] as Signature),
      'SLW_ARTIFACT_TOO_MANY_SIGNATURES',
    );
    assert.ok((await readFile(artifact.path)).equals(full));
  });
});

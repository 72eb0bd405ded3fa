// Attacks on the .slw container and its signatures, each named after what it tries. A device
// reads artifacts from a server, mirror or USB stick it does not trust; every test here is a
// byte stream such a party could hand it, and the exact coded error the reader must answer with.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BLOCK,
  COMPRESSIONS,
  type Compression,
  type ErrorCode,
  encode,
  encodeSignatureBlock,
  MANIFEST_ENTRY,
  PAYLOAD_TYPE_ROOT,
  paddingFor,
  readSignatureSlots,
  SIGNATURES_ENTRY,
  type Signature,
  SlipwayError,
  type TrustedRoot,
} from '../../src/index.js';
import { type ArtifactFixture, makeArtifact, makeKey, makeTrustedRoot, scratchDir, type TestKey } from '../support/fixtures.js';
import { probeRead, type ReadOutcome } from '../support/read-probe.js';
import {
  assembleArtifact,
  buildTar,
  type CraftedPayload,
  craftManifest,
  END_MARKER,
  fixChecksum,
  HEADER_FIELD,
  headerWithType,
  rawHeader,
  type SplitArtifact,
  signatureBlockOf,
  signManifest,
  splitArtifact,
  type TarEntrySpec,
  uncheckedSlot,
  withSignatureBlock,
} from '../support/tar-builder.js';

const SIGNATURE_SPACE = 4096;
const SLOT_BYTES = SIGNATURE_SPACE / 2;
/** Reading in single blocks makes "how far did the reader pull the source" exact. */
const BLOCKWISE = 512;

function assertCode(outcome: ReadOutcome, code: ErrorCode, context = ''): SlipwayError {
  const err = outcome.error;
  assert.ok(err instanceof SlipwayError, `${context}expected ${code}, got ${err === null ? 'a successful read' : String(err)}`);
  assert.equal(err.code, code, `${context}${err.message}`);
  return err;
}

/** Verify-first: the reader refused in `open`, no payload byte was yielded, and it never pulled a payload byte. */
function assertRefusedBeforePayloads(outcome: ReadOutcome, split: SplitArtifact): void {
  assert.equal(outcome.failedAtOpen, true, 'the reader must refuse before offering any payload');
  assert.equal(outcome.yieldedBytes, 0);
  const payloadsOffset = split.payloads[0]?.headerOffset ?? split.endOffset;
  assert.ok(outcome.delivered <= payloadsOffset, `reader pulled ${outcome.delivered} bytes; payloads start at ${payloadsOffset}`);
}

/** The same entry with its data and a freshly encoded header (drops any header edits). */
function plainEntry(e: TarEntrySpec): TarEntrySpec {
  return { name: e.name, data: e.data };
}

function flipBitInBase64(sig: string): string {
  const raw = Buffer.from(sig, 'base64');
  raw[raw.length >> 1] = (raw[raw.length >> 1] as number) ^ 0x10;
  return raw.toString('base64');
}

describe('artifact attacks', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let keyA: TestKey;
  let keyB: TestKey;
  let keyC: TestKey;
  let outsider: TestKey;
  let ecdsaKey: TestKey;
  /** Release keys [A], threshold 1. */
  let trust: TrustedRoot;
  /** Release keys [A, B, C], threshold 2. */
  let trust2of3: TrustedRoot;
  /** Release keys [ECDSA, B], threshold 2. */
  let trustEcdsa: TrustedRoot;
  /** Two payloads (40,000 bytes of text, 9,001 random), signed by A, per compression. */
  const signed = {} as Record<Compression, ArtifactFixture>;
  let unsigned: ArtifactFixture;
  let plain: ArtifactFixture;
  let plainSplit: SplitArtifact;

  before(async () => {
    ({ dir, cleanup } = await scratchDir());
    [keyA, keyB, keyC, outsider] = [makeKey(), makeKey(), makeKey(), makeKey()];
    ecdsaKey = makeKey('ecdsa-p256');
    const rootKeys = [makeKey()];
    trust = await makeTrustedRoot({ rootKeys, releaseKeys: [keyA] });
    trust2of3 = await makeTrustedRoot({ rootKeys, releaseKeys: [keyA, keyB, keyC], releaseThreshold: 2 });
    trustEcdsa = await makeTrustedRoot({ rootKeys, releaseKeys: [ecdsaKey, keyB], releaseThreshold: 2 });
    const text = Buffer.from(Array.from({ length: 1500 }, (_, i) => `line ${i} of the root file system\n`).join('')).subarray(0, 40_000);
    const contents = [text, randomBytes(9001)];
    for (const compression of COMPRESSIONS) {
      signed[compression] = await makeArtifact(dir, { contents, compression, signers: [keyA], signatureSpace: SIGNATURE_SPACE });
    }
    unsigned = await makeArtifact(dir, { contents, signatureSpace: SIGNATURE_SPACE });
    plain = signed.none;
    plainSplit = splitArtifact(plain.bytes);
  });
  after(() => cleanup());

  test('the untouched fixtures read back under their roots (so every refusal below is caused by the attack)', async () => {
    for (const compression of COMPRESSIONS) {
      const fixture = signed[compression];
      const outcome = await probeRead(fixture.bytes, { trust, chunkBytes: 1000 });
      assert.equal(outcome.error, null, `${compression}: ${String(outcome.error)}`);
      assert.deepEqual(outcome.payloads, fixture.payloads);
    }
    assert.equal((await probeRead(unsigned.bytes, { trust: null })).error, null);
  });

  describe('signatures (arbitrary installation, key compromise)', () => {
    test('rejects a tampered manifest before reading a payload byte (arbitrary installation attack)', async () => {
      const manifest = plainSplit.manifest.data.toString('utf8');
      const tampered = manifest.replace('"version": "1.0.0"', '"version": "1.0.1"');
      assert.notEqual(tampered, manifest);
      JSON.parse(tampered); // still valid JSON of the same length: only the signature can tell
      const bytes = Buffer.from(plain.bytes);
      bytes.write(tampered, plainSplit.manifest.dataOffset, 'utf8');
      const outcome = await probeRead(bytes, { trust, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome, plainSplit);
      assert.equal(outcome.sourceClosed, true, 'a refused artifact releases its source');
    });

    test('rejects a tampered signature in both slots whose slot checks were recomputed (forged signature attack)', async () => {
      const slots = readSignatureSlots(plainSplit.signatures.data);
      const forged: Signature[] = slots.signatures.map((s) => ({ keyid: s.keyid, sig: flipBitInBase64(s.sig) }));
      const block = signatureBlockOf(
        [
          { generation: 0, signatures: forged },
          { generation: 0, signatures: forged },
        ],
        slots.slotBytes,
      );
      // Both slots are intact and agree: only the signature bytes are wrong.
      assert.deepEqual(readSignatureSlots(block).signatures, forged);
      const outcome = await probeRead(withSignatureBlock(plain.bytes, block), { trust, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome, plainSplit);
    });

    test('rejects an artifact signed only by a key outside the root (untrusted signer attack)', async () => {
      const signatures = await signManifest(plainSplit.manifest.data, [outsider]);
      const bytes = withSignatureBlock(plain.bytes, encodeSignatureBlock(signatures, SIGNATURE_SPACE));
      const outcome = await probeRead(bytes, { trust, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome, plainSplit);
    });

    test('does not count an outsider signature toward a release threshold (threshold padding attack)', async () => {
      const signatures = await signManifest(plainSplit.manifest.data, [keyA, outsider]);
      const bytes = withSignatureBlock(plain.bytes, encodeSignatureBlock(signatures, SIGNATURE_SPACE));
      const outcome = await probeRead(bytes, { trust: trust2of3, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome, plainSplit);
    });

    test('rejects an artifact one signature short of a 2-of-3 release threshold (single key compromise)', async () => {
      const one = withSignatureBlock(
        plain.bytes,
        encodeSignatureBlock(await signManifest(plainSplit.manifest.data, [keyA]), SIGNATURE_SPACE),
      );
      const outcome = await probeRead(one, { trust: trust2of3, chunkBytes: BLOCKWISE });
      const err = assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assert.deepEqual(err.details, { validSignatures: 1, threshold: 2 });
      assertRefusedBeforePayloads(outcome, plainSplit);

      const two = withSignatureBlock(
        plain.bytes,
        encodeSignatureBlock(await signManifest(plainSplit.manifest.data, [keyA, keyC]), SIGNATURE_SPACE),
      );
      assert.equal((await probeRead(two, { trust: trust2of3 })).error, null, 'two of the three keys meet the threshold');
    });

    test('counts the same key signing twice once (duplicate signature attack)', async () => {
      const [sigA] = await signManifest(plainSplit.manifest.data, [keyA]);
      assert.ok(sigA);
      const twice = withSignatureBlock(plain.bytes, encodeSignatureBlock([sigA, sigA], SIGNATURE_SPACE));
      const outcome = await probeRead(twice, { trust: trust2of3, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome, plainSplit);

      // ECDSA signatures are randomized: two different, individually valid signatures by one key still count once.
      const distinct = await signManifest(plainSplit.manifest.data, [ecdsaKey, ecdsaKey]);
      assert.notEqual(distinct[0]?.sig, distinct[1]?.sig);
      const outcome2 = await probeRead(withSignatureBlock(plain.bytes, encodeSignatureBlock(distinct, SIGNATURE_SPACE)), {
        trust: trustEcdsa,
        chunkBytes: BLOCKWISE,
      });
      assertCode(outcome2, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome2, plainSplit);
    });

    test('rejects an unsigned artifact under a trust root', async () => {
      const outcome = await probeRead(unsigned.bytes, { trust, chunkBytes: BLOCKWISE });
      const err = assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assert.deepEqual(err.details, { validSignatures: 0, threshold: 1 });
      assertRefusedBeforePayloads(outcome, splitArtifact(unsigned.bytes));
    });

    test('does not accept a trust-root signature over the manifest bytes as a release signature (cross-domain replay)', async () => {
      const manifestBytes = plainSplit.manifest.data;
      const asRoot = await signManifest(manifestBytes, [keyA], PAYLOAD_TYPE_ROOT);
      const outcome = await probeRead(withSignatureBlock(plain.bytes, encodeSignatureBlock(asRoot, SIGNATURE_SPACE)), {
        trust,
        chunkBytes: BLOCKWISE,
      });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURE_INVALID');
      assertRefusedBeforePayloads(outcome, plainSplit);
      const asManifest = await signManifest(manifestBytes, [keyA]);
      assert.notEqual(asRoot[0]?.sig, asManifest[0]?.sig);
      assert.equal(
        (await probeRead(withSignatureBlock(plain.bytes, encodeSignatureBlock(asManifest, SIGNATURE_SPACE)), { trust })).error,
        null,
      );
    });
  });

  describe('payload tampering (arbitrary installation, malicious mirror)', () => {
    for (const compression of COMPRESSIONS) {
      for (const where of ['first', 'middle', 'last'] as const) {
        test(`rejects a ${compression} payload tampered at its ${where} byte (malicious mirror attack)`, async () => {
          const fixture = signed[compression];
          const split = splitArtifact(fixture.bytes);
          for (const [index, payload] of split.payloads.entries()) {
            const at = { first: 0, middle: payload.data.length >> 1, last: payload.data.length - 1 }[where];
            const bytes = Buffer.from(fixture.bytes);
            bytes[payload.dataOffset + at] = (bytes[payload.dataOffset + at] as number) ^ 0x01;
            for (const chunkBytes of [BLOCKWISE, 64 * 1024]) {
              const outcome = await probeRead(bytes, { trust, chunkBytes });
              const context = `payload ${index}, chunks of ${chunkBytes}: `;
              if (compression === 'none') {
                assertCode(outcome, 'SLW_ARTIFACT_HASH_MISMATCH', context);
              } else {
                // The codec may notice the damage before the stored bytes' hash is complete.
                const err = outcome.error;
                assert.ok(err instanceof SlipwayError, `${context}${String(err)}`);
                assert.ok(['SLW_ARTIFACT_HASH_MISMATCH', 'SLW_ARTIFACT_PAYLOAD_CORRUPT'].includes(err.code), `${context}${err.code}`);
              }
              // The failure ends the read inside the tampered payload: nothing after it is offered.
              assert.equal(outcome.payloads.length, index + 1, context);
              assert.ok((outcome.payloads[index]?.length ?? 0) <= (fixture.payloads[index]?.length ?? 0), context);
            }
          }
        });
      }
    }
  });

  describe('truncation and trailing data', () => {
    for (const compression of COMPRESSIONS) {
      test(`rejects a ${compression} artifact cut at any offset as truncated (slow retrieval / cut download)`, async () => {
        const fixture = signed[compression];
        const split = splitArtifact(fixture.bytes);
        const cuts = new Map<number, string>();
        const around = (offset: number, label: string) => {
          for (const d of [-1, 0, 1]) cuts.set(offset + d, `${label}${d === 0 ? '' : d > 0 ? '+1' : '-1'}`);
        };
        cuts.set(0, 'empty');
        cuts.set(1, 'inside the manifest header');
        for (const e of split.entries) {
          around(e.headerOffset, `${e.name} header`);
          cuts.set(e.headerOffset + HEADER_FIELD.size + 3, `inside the ${e.name} header size field`);
          around(e.dataOffset, `${e.name} data`);
          cuts.set(e.dataOffset + (e.data.length >> 1), `middle of ${e.name}`);
          around(e.dataOffset + e.data.length, `end of ${e.name}`);
          if (paddingFor(e.data.length) > 1) cuts.set(e.dataOffset + e.data.length + 1, `inside the padding of ${e.name}`);
        }
        around(split.endOffset, 'end marker');
        around(split.endOffset + BLOCK, 'second end block');
        cuts.set(fixture.bytes.length - 1, 'last byte');
        // And a sweep: every 509th byte (prime, so it lands at every offset within a block).
        for (let at = 0; at < fixture.bytes.length; at += 509) cuts.set(at, `offset ${at}`);
        cuts.delete(-1);
        cuts.delete(fixture.bytes.length);
        cuts.delete(fixture.bytes.length + 1);
        for (const [at, label] of [...cuts].sort((a, b) => a[0] - b[0])) {
          const outcome = await probeRead(fixture.bytes.subarray(0, at), { trust, chunkBytes: 4096 });
          assertCode(outcome, 'SLW_ARTIFACT_TRUNCATED', `cut at ${at} (${label}): `);
        }
      });
    }

    test('rejects bytes after the end-of-archive marker (trailing data)', async () => {
      const extraEntry = buildTar([{ name: 'payload/extra.bin', data: Buffer.from('more') }]);
      for (const [label, tail] of [
        ['one byte', Buffer.from('x')],
        ['a zero block', Buffer.alloc(BLOCK)],
        ['two zero blocks', Buffer.alloc(2 * BLOCK)],
        ['a whole tar entry', extraEntry],
      ] as const) {
        const outcome = await probeRead(Buffer.concat([plain.bytes, tail]), { trust });
        assertCode(outcome, 'SLW_ARTIFACT_TRAILING_DATA', `${label}: `);
      }
    });

    test('rejects an end marker whose second block is not zero', async () => {
      const bytes = Buffer.from(plain.bytes);
      bytes[bytes.length - 1] = 1;
      assertCode(await probeRead(bytes, { trust }), 'SLW_ARTIFACT_MALFORMED');
    });
  });

  describe('endless data', () => {
    for (const compression of COMPRESSIONS) {
      test(`refuses a ${compression} payload entry larger than its signed size before yielding a byte of it (endless data attack)`, async () => {
        const split = splitArtifact(signed[compression].bytes);
        const [m, s, p0, p1] = split.entries;
        assert.ok(m && s && p0 && p1);
        // The second payload's entry claims 1 MiB more than the manifest signs, and the bytes are there.
        const longer = Buffer.concat([p1.data, randomBytes(1024 * 1024)]);
        const bytes = buildTar([plainEntry(m), plainEntry(s), plainEntry(p0), { name: p1.name, data: longer }]);
        const outcome = await probeRead(bytes, { trust, chunkBytes: BLOCKWISE });
        assertCode(outcome, 'SLW_ARTIFACT_SIZE_MISMATCH');
        assert.equal(outcome.payloads.length, 1, 'the oversized payload is never offered');
        assert.equal(outcome.yieldedBytes, signed[compression].payloads[0]?.length);
        assert.ok(
          outcome.delivered <= p1.dataOffset,
          `reader pulled ${outcome.delivered} bytes; the oversized entry's data starts at ${p1.dataOffset}`,
        );
      });
    }

    test('refuses a payload entry smaller than its signed size', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const bytes = buildTar([
        plainEntry(m),
        plainEntry(s),
        { name: p0.name, data: p0.data.subarray(0, p0.data.length - 1) },
        plainEntry(p1),
      ]);
      const outcome = await probeRead(bytes, { trust });
      assertCode(outcome, 'SLW_ARTIFACT_SIZE_MISMATCH');
      assert.equal(outcome.yieldedBytes, 0);
    });

    for (const compression of ['gzip', 'zstd'] as const) {
      test(`stops a signed ${compression} payload that decompresses past its signed size (decompression bomb)`, async () => {
        const content = Buffer.alloc(8 * 1024 * 1024);
        const parts: Buffer[] = [];
        for await (const chunk of encode(
          compression,
          (async function* () {
            yield content;
          })(),
        )) {
          parts.push(Buffer.from(chunk));
        }
        const stored = Buffer.concat(parts);
        const claimed = 1000;
        // The manifest is honest about the stored bytes and lies only about the decompressed size.
        const payload: CraftedPayload = {
          name: 'rootfs.img',
          stored,
          content: content.subarray(0, claimed),
          compression,
        };
        const manifestBytes = craftManifest([payload]);
        const bytes = assembleArtifact({ manifestBytes, signatures: await signManifest(manifestBytes, [keyA]), payloads: [payload] });
        const outcome = await probeRead(bytes, { trust });
        assertCode(outcome, 'SLW_ARTIFACT_PAYLOAD_TOO_LONG');
        assert.ok(outcome.yieldedBytes <= claimed, `yielded ${outcome.yieldedBytes} bytes; the manifest signs ${claimed}`);
      });
    }
  });

  describe('signed but broken compressed streams', () => {
    async function compressed(compression: 'gzip' | 'zstd', content: Buffer): Promise<Buffer> {
      const parts: Buffer[] = [];
      const input = (async function* () {
        yield content;
      })();
      for await (const chunk of encode(compression, input)) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts);
    }

    for (const compression of ['gzip', 'zstd'] as const) {
      test(`refuses a signed ${compression} payload whose stream ends before its content does`, async () => {
        const content = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join(''));
        const full = await compressed(compression, content);
        for (const cut of [1, 10, full.length >> 1, full.length - 1]) {
          // A build tool that wrote a cut stream and signed it: hashes and sizes match the stored bytes.
          const payload: CraftedPayload = { name: 'rootfs.img', stored: full.subarray(0, cut), content, compression };
          const manifestBytes = craftManifest([payload]);
          const bytes = assembleArtifact({ manifestBytes, signatures: await signManifest(manifestBytes, [keyA]), payloads: [payload] });
          for (const chunkBytes of [7, 64 * 1024]) {
            const outcome = await probeRead(bytes, { trust, chunkBytes });
            assertCode(outcome, 'SLW_ARTIFACT_PAYLOAD_CORRUPT', `cut at ${cut} of ${full.length}, chunks of ${chunkBytes}: `);
            assert.ok(outcome.yieldedBytes <= content.length);
          }
        }
      });
    }

    test('refuses a signed gzip payload with bytes after its last member', async () => {
      const content = Buffer.alloc(5000, 'gateway ');
      const stored = Buffer.concat([await compressed('gzip', content), Buffer.from('not gzip at all')]);
      const payload: CraftedPayload = { name: 'rootfs.img', stored, content, compression: 'gzip' };
      const manifestBytes = craftManifest([payload]);
      const bytes = assembleArtifact({ manifestBytes, signatures: await signManifest(manifestBytes, [keyA]), payloads: [payload] });
      assertCode(await probeRead(bytes, { trust }), 'SLW_ARTIFACT_PAYLOAD_CORRUPT');
    });
  });

  describe('tar structure', () => {
    const unsafeNames = [
      'payload/../../etc/passwd',
      '/etc/passwd',
      'payload\\..\\..\\etc\\passwd',
      '../manifest.json',
      'payload/./rootfs.img',
      'payload//x',
    ];
    for (const name of unsafeNames) {
      test(`refuses the entry name ${JSON.stringify(name)} (path traversal attack)`, async () => {
        const [m, s, p0, p1] = plainSplit.entries;
        assert.ok(m && s && p0 && p1);
        const asPayload = buildTar([
          plainEntry(m),
          plainEntry(s),
          { name, data: p0.data, header: rawHeader(name, p0.data.length) },
          plainEntry(p1),
        ]);
        const outcome = await probeRead(asPayload, { trust });
        assertCode(outcome, 'SLW_ARTIFACT_UNSAFE_NAME', 'as a payload: ');
        assert.equal(outcome.yieldedBytes, 0);
        const first = buildTar([
          { name, data: m.data, header: rawHeader(name, m.data.length) },
          plainEntry(s),
          plainEntry(p0),
          plainEntry(p1),
        ]);
        assertCode(await probeRead(first, { trust }), 'SLW_ARTIFACT_UNSAFE_NAME', 'as the first entry: ');
      });
    }

    test('refuses a duplicated manifest entry (duplicate entry attack)', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const outcome = await probeRead(buildTar([m, m, s, p0, p1].map(plainEntry)), { trust });
      assertCode(outcome, 'SLW_ARTIFACT_DUPLICATE_ENTRY');
      assert.equal(outcome.failedAtOpen, true);
    });

    test('refuses a duplicated signatures entry', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const outcome = await probeRead(buildTar([m, s, s, p0, p1].map(plainEntry)), { trust });
      assertCode(outcome, 'SLW_ARTIFACT_DUPLICATE_ENTRY');
      assert.equal(outcome.yieldedBytes, 0);
    });

    test('refuses a payload entry that appears twice, wherever the copy sits (duplicate entry attack)', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const between = await probeRead(buildTar([m, s, p0, p0, p1].map(plainEntry)), { trust });
      assertCode(between, 'SLW_ARTIFACT_DUPLICATE_ENTRY', 'copy before the next payload: ');
      assert.equal(between.payloads.length, 1, 'the payload after the copy is never offered');
      const atEnd = await probeRead(buildTar([m, s, p0, p1, p1].map(plainEntry)), { trust });
      assertCode(atEnd, 'SLW_ARTIFACT_DUPLICATE_ENTRY', 'copy after the last payload: ');
      const manifestAtEnd = await probeRead(buildTar([m, s, p0, p1, m].map(plainEntry)), { trust });
      assertCode(manifestAtEnd, 'SLW_ARTIFACT_DUPLICATE_ENTRY', 'manifest copy after the last payload: ');
    });

    test('refuses entries out of order (signatures before the manifest, a payload before the signatures)', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const signaturesFirst = await probeRead(buildTar([s, m, p0, p1].map(plainEntry)), { trust });
      assertCode(signaturesFirst, 'SLW_ARTIFACT_ENTRY_ORDER', 'signatures first: ');
      const payloadFirst = await probeRead(buildTar([p0, m, s, p1].map(plainEntry)), { trust });
      assertCode(payloadFirst, 'SLW_ARTIFACT_ENTRY_ORDER', 'payload first: ');
      const payloadBeforeSignatures = await probeRead(buildTar([m, p0, s, p1].map(plainEntry)), { trust });
      assertCode(payloadBeforeSignatures, 'SLW_ARTIFACT_ENTRY_ORDER', 'payload before signatures: ');
    });

    test('refuses payloads in another order than the manifest lists them (mix-and-match attack)', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const outcome = await probeRead(buildTar([m, s, p1, p0].map(plainEntry)), { trust });
      assertCode(outcome, 'SLW_ARTIFACT_ENTRY_ORDER');
      assert.equal(outcome.yieldedBytes, 0);
    });

    test('refuses an entry the manifest does not list, wherever it sits (extraneous dependencies attack)', async () => {
      const [m, s, p0, p1] = plainSplit.entries;
      assert.ok(m && s && p0 && p1);
      const extra = { name: 'payload/extra.bin', data: randomBytes(700) };
      const notes = { name: 'notes.txt', data: Buffer.from('hello') };
      const cases: [string, TarEntrySpec[]][] = [
        ['a file between manifest and signatures', [m, notes, s, p0, p1]],
        ['a file before the payloads', [m, s, notes, p0, p1]],
        ['an unlisted payload between payloads', [m, s, p0, extra, p1]],
        ['an unlisted payload after the last payload', [m, s, p0, p1, extra]],
        ['a file as the first entry', [notes, m, s, p0, p1]],
      ];
      for (const [label, entries] of cases) {
        const outcome = await probeRead(buildTar(entries.map(plainEntry)), { trust });
        assertCode(outcome, 'SLW_ARTIFACT_UNEXPECTED_ENTRY', `${label}: `);
        assert.ok(!outcome.payloads.some((p) => p.equals(extra.data)), `${label}: the extra entry was yielded`);
      }
    });

    for (const [typeflag, kind] of [
      ['2', 'symlink'],
      ['1', 'hard link'],
      ['5', 'directory'],
      ['x', 'pax extended header'],
      ['g', 'pax global header'],
      ['L', 'GNU long name'],
      ['\0', 'old-style regular file'],
    ] as const) {
      test(`refuses a ${kind} entry (typeflag ${JSON.stringify(typeflag)})`, async () => {
        const [m, s, p0, p1] = plainSplit.entries;
        assert.ok(m && s && p0 && p1);
        const linked = (size: number) =>
          rawHeader(p0.name, size, (h) => {
            h.write(typeflag, HEADER_FIELD.typeflag, 1, 'latin1');
            h.write('../../etc/passwd', 157, 'ascii'); // link target, for the link types
          });
        const asPayload = buildTar(
          [m, s].map(plainEntry).concat([{ name: p0.name, data: p0.data, header: linked(p0.data.length) }, plainEntry(p1)]),
        );
        const outcome = await probeRead(asPayload, { trust });
        assertCode(outcome, 'SLW_ARTIFACT_UNEXPECTED_ENTRY', 'as a payload: ');
        assert.equal(outcome.yieldedBytes, 0);
        const asManifest = buildTar([
          { name: m.name, data: m.data, header: headerWithType(MANIFEST_ENTRY, m.data.length, typeflag) },
          plainEntry(s),
          plainEntry(p0),
          plainEntry(p1),
        ]);
        assertCode(await probeRead(asManifest, { trust }), 'SLW_ARTIFACT_UNEXPECTED_ENTRY', 'as the manifest: ');
      });
    }

    test('refuses a header whose checksum does not match (corrupted header)', async () => {
      for (const e of plainSplit.entries) {
        for (const [label, offset] of [
          ['mtime', HEADER_FIELD.mtime + 3],
          ['checksum', HEADER_FIELD.checksum + 2],
          ['name padding', 99],
        ] as const) {
          const bytes = Buffer.from(plain.bytes);
          bytes[e.headerOffset + offset] = (bytes[e.headerOffset + offset] as number) ^ 0x01;
          assertCode(await probeRead(bytes, { trust }), 'SLW_ARTIFACT_MALFORMED', `${e.name} ${label}: `);
        }
      }
    });

    test('refuses a header that is not POSIX ustar even with a valid checksum', async () => {
      const bytes = Buffer.from(plain.bytes);
      const header = Buffer.from(plainSplit.manifest.header);
      header.write('ustar  \0', HEADER_FIELD.magic, 'latin1'); // the old GNU magic
      fixChecksum(header).copy(bytes, 0);
      assertCode(await probeRead(bytes, { trust }), 'SLW_ARTIFACT_MALFORMED');
    });

    test('refuses non-zero entry padding', async () => {
      const e = plainSplit.payloads[0];
      assert.ok(e && paddingFor(e.data.length) > 0);
      const bytes = Buffer.from(plain.bytes);
      bytes[e.dataOffset + e.data.length] = 0x41;
      assertCode(await probeRead(bytes, { trust }), 'SLW_ARTIFACT_MALFORMED');
    });
  });

  describe('limits', () => {
    test('refuses a manifest entry above the size limit before reading it (endless data attack on the manifest)', async () => {
      for (const size of [1024 * 1024 + 1, 8 ** 11 - 1, 2 ** 40]) {
        const header = rawHeader(MANIFEST_ENTRY, size);
        // Only the header is there: reading the manifest would fail as truncated, not as too large.
        const outcome = await probeRead(Buffer.concat([header, Buffer.alloc(4 * BLOCK)]), { trust, chunkBytes: BLOCKWISE });
        assertCode(outcome, 'SLW_ARTIFACT_MANIFEST_TOO_LARGE', `size ${size}: `);
        assert.equal(outcome.delivered, BLOCK, 'only the header was read');
      }
    });

    test('applies a caller-given manifest size limit', async () => {
      const size = plainSplit.manifest.data.length;
      const outcome = await probeRead(plain.bytes, { trust, chunkBytes: BLOCKWISE, limits: { maxManifestBytes: size - 1 } });
      assertCode(outcome, 'SLW_ARTIFACT_MANIFEST_TOO_LARGE');
      assert.equal(outcome.delivered, BLOCK);
      assert.equal((await probeRead(plain.bytes, { trust, limits: { maxManifestBytes: size } })).error, null);
    });

    test('refuses a signature block above the size limit before reading it', async () => {
      const outcome = await probeRead(plain.bytes, {
        trust,
        chunkBytes: BLOCKWISE,
        limits: { maxSignatureBlockBytes: SIGNATURE_SPACE - 2 },
      });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURES_MALFORMED');
      assert.equal(outcome.delivered, plainSplit.signatures.dataOffset);
    });

    test('refuses more signatures than the limit (signature flooding)', async () => {
      const [sigA] = await signManifest(plainSplit.manifest.data, [keyA]);
      assert.ok(sigA);
      const junk = Array.from({ length: 32 }, () => ({ keyid: randomBytes(32).toString('hex'), sig: randomBytes(64).toString('base64') }));
      const slotBytes = 8 * 1024;
      const slot = uncheckedSlot([sigA, ...junk], 0, slotBytes);
      const split = splitArtifact(plain.bytes);
      const bytes = buildTar([
        plainEntry(split.manifest),
        { name: SIGNATURES_ENTRY, data: Buffer.concat([slot, slot]) },
        ...split.payloads.map(plainEntry),
      ]);
      const outcome = await probeRead(bytes, { trust, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_TOO_MANY_SIGNATURES');
      assert.equal(outcome.failedAtOpen, true);
      assert.equal(outcome.yieldedBytes, 0);
    });

    test('refuses more payloads than the caller-given limit before reading any', async () => {
      const outcome = await probeRead(plain.bytes, { trust, chunkBytes: BLOCKWISE, limits: { maxPayloads: 1 } });
      assertCode(outcome, 'SLW_ARTIFACT_TOO_MANY_ENTRIES');
      assertRefusedBeforePayloads(outcome, plainSplit);
      assert.equal((await probeRead(plain.bytes, { trust, limits: { maxPayloads: 2 } })).error, null);
    });
  });

  describe('signature slots', () => {
    test('refuses two intact slots of one generation that disagree (slot confusion)', async () => {
      const [sigA, sigB] = await signManifest(plainSplit.manifest.data, [keyA, keyB]);
      assert.ok(sigA && sigB);
      const block = signatureBlockOf(
        [
          { generation: 3, signatures: [sigA] },
          { generation: 3, signatures: [sigA, sigB] },
        ],
        SLOT_BYTES,
      );
      const outcome = await probeRead(withSignatureBlock(plain.bytes, block), { trust, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURES_MALFORMED');
      assertRefusedBeforePayloads(outcome, plainSplit);
    });

    test('falls back to the other slot when one slot is torn (power cut while signing)', async () => {
      const [sigA] = await signManifest(plainSplit.manifest.data, [keyA]);
      assert.ok(sigA);
      const good = { generation: 4, signatures: [sigA] };
      const torn = Buffer.alloc(SLOT_BYTES, 0x20);
      Buffer.from('{"generation":5,"signatures":[{"keyid":"').copy(torn); // the write stopped here
      for (const [label, slots, expectedSlot] of [
        ['slot 0 torn', [torn, good], 1],
        ['slot 1 torn', [good, torn], 0],
        ['slot 0 random', [randomBytes(SLOT_BYTES), good], 1],
      ] as const) {
        const outcome = await probeRead(withSignatureBlock(plain.bytes, signatureBlockOf(slots, SLOT_BYTES)), { trust });
        assert.equal(outcome.error, null, `${label}: ${String(outcome.error)}`);
        assert.deepEqual(outcome.payloads, plain.payloads, label);
        const picked = readSignatureSlots(signatureBlockOf(slots, SLOT_BYTES));
        assert.equal(picked.activeSlot, expectedSlot, label);
        assert.equal(picked.generation, 4, label);
      }
    });

    test('falls back to the older generation when the newer slot has a wrong check (torn mid-signature)', async () => {
      const [sigA, sigB] = await signManifest(plainSplit.manifest.data, [keyA, keyB]);
      assert.ok(sigA && sigB);
      const newer = encodeSignatureBlock([sigA, sigB], SIGNATURE_SPACE).subarray(0, SLOT_BYTES);
      const text = newer.toString('utf8').replace('"generation":0', '"generation":1');
      const damaged = Buffer.from(text.replace(sigB.sig.slice(0, 8), 'AAAAAAAA'), 'utf8'); // check no longer matches
      const block = signatureBlockOf([{ generation: 0, signatures: [sigA] }, damaged], SLOT_BYTES);
      const slots = readSignatureSlots(block);
      assert.equal(slots.generation, 0);
      assert.deepEqual(slots.signatures, [sigA]);
      assert.equal((await probeRead(withSignatureBlock(plain.bytes, block), { trust })).error, null);
    });

    test('refuses an artifact whose two slots are both torn', async () => {
      const block = Buffer.concat([randomBytes(SLOT_BYTES), Buffer.alloc(SLOT_BYTES, 0x20)]);
      const outcome = await probeRead(withSignatureBlock(plain.bytes, block), { trust, chunkBytes: BLOCKWISE });
      assertCode(outcome, 'SLW_ARTIFACT_SIGNATURES_MALFORMED');
      assertRefusedBeforePayloads(outcome, plainSplit);
      // Without a root too: inspection cannot read signatures that are not there.
      assertCode(await probeRead(withSignatureBlock(plain.bytes, block), { trust: null }), 'SLW_ARTIFACT_SIGNATURES_MALFORMED');
    });

    test('refuses a signature block too small to hold two slots', async () => {
      const [m, , p0, p1] = plainSplit.entries;
      assert.ok(m && p0 && p1);
      const bytes = buildTar([plainEntry(m), { name: SIGNATURES_ENTRY, data: Buffer.alloc(1000, 0x20) }, plainEntry(p0), plainEntry(p1)]);
      assertCode(await probeRead(bytes, { trust }), 'SLW_ARTIFACT_SIGNATURES_MALFORMED');
    });
  });

  test('the end marker alone is not an artifact', async () => {
    assertCode(await probeRead(END_MARKER, { trust }), 'SLW_ARTIFACT_MALFORMED');
  });
});

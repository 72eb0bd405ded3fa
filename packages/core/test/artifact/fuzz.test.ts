// Mutation fuzzing of the artifact reader. Valid signed artifacts are damaged at random (bit flips,
// cuts, insertions, deletions, header edits with fixed checksums, rewritten signature slots and
// re-signed manifests) and read under the root with varying chunk sizes. Every outcome must be a
// read that returns exactly the original payloads, or a coded SLW_ARTIFACT_* error, in bounded time.
//
// Reproduce a failure with SLIPWAY_FUZZ_SEED=<seed> (printed in every failure message);
// SLIPWAY_FUZZ_ITERATIONS=<n> runs more cases.
import assert from 'node:assert/strict';
import { createPrivateKey, randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BLOCK,
  type Compression,
  ERROR_CODES,
  type ErrorCode,
  encodeHeader,
  fileKeySigner,
  MANIFEST_ENTRY,
  parsePrivateKey,
  readSignatureSlots,
  SIGNATURES_ENTRY,
  type Signature,
  SlipwayError,
  type TrustedRoot,
} from '../../src/index.js';
import { makeArtifact, makeKey, makeTrustedRoot, scratchDir, type TestKey } from '../support/fixtures.js';
import { probeRead, type ReadOutcome } from '../support/read-probe.js';
import {
  buildTar,
  fixChecksum,
  HEADER_FIELD,
  type SplitArtifact,
  signManifest,
  splitArtifact,
  type TarEntrySpec,
  uncheckedSlot,
} from '../support/tar-builder.js';

const ITERATIONS = Number.parseInt(process.env.SLIPWAY_FUZZ_ITERATIONS ?? '3000', 10);
const SEED = process.env.SLIPWAY_FUZZ_SEED ? Number.parseInt(process.env.SLIPWAY_FUZZ_SEED, 10) : randomInt(2 ** 31);
const CASE_TIMEOUT_MS = 5000;

/**
 * Codes the reader may answer with. The other SLW_ARTIFACT_* codes belong to creating, signing
 * or install policy; the reader throwing one of them would itself be a bug.
 */
const NOT_FROM_THE_READER: readonly ErrorCode[] = [
  'SLW_ARTIFACT_PAYLOAD_CHANGED',
  'SLW_ARTIFACT_SIGNATURE_SPACE',
  'SLW_ARTIFACT_EXPIRED',
  'SLW_ARTIFACT_DEVICE_TYPE',
  'SLW_ARTIFACT_ROLLBACK',
  'SLW_ARTIFACT_COMPRESSION_UNSUPPORTED',
];
const READER_CODES = new Set(
  (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => c.startsWith('SLW_ARTIFACT_') && !NOT_FROM_THE_READER.includes(c)),
);

/** mulberry32: small, fast, and the same sequence on every platform. */
class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** Compressible text, so gzip and zstd make real compressed blocks. */
  text(n: number): Buffer {
    const words = ['slipway', 'gateway', 'rootfs', 'boot', 'slot', 'update', '\n', ' ', '0', 'ff'];
    const parts: string[] = [];
    let length = 0;
    while (length < n) {
      const word = this.pick(words);
      parts.push(word);
      length += word.length;
    }
    return Buffer.from(parts.join('').slice(0, n), 'latin1');
  }
}

/** An Ed25519 key derived from a seed, so the base artifacts are the same bytes on every run. */
function seededKey(rng: Rng): TestKey {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), rng.bytes(32)]);
  const privatePem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  const signer = fileKeySigner(parsePrivateKey(privatePem));
  return { signer, privatePem, keyId: signer.keyId };
}

interface Base {
  readonly label: string;
  readonly bytes: Buffer;
  readonly payloads: readonly Buffer[];
  readonly split: SplitArtifact;
  readonly signatures: readonly Signature[];
}

const BASES: readonly {
  label: string;
  compression: Compression;
  sizes: readonly (readonly [number, 'text' | 'random'])[];
  signers: 1 | 2;
}[] = [
  { label: 'none, one payload', compression: 'none', sizes: [[3000, 'random']], signers: 1 },
  {
    label: 'none, two payloads, one empty',
    compression: 'none',
    sizes: [
      [1700, 'text'],
      [0, 'text'],
    ],
    signers: 2,
  },
  {
    label: 'gzip, two payloads',
    compression: 'gzip',
    sizes: [
      [5000, 'text'],
      [1500, 'random'],
    ],
    signers: 1,
  },
  { label: 'gzip, one payload', compression: 'gzip', sizes: [[3000, 'text']], signers: 2 },
  {
    label: 'zstd, two payloads',
    compression: 'zstd',
    sizes: [
      [4000, 'text'],
      [700, 'random'],
    ],
    signers: 1,
  },
  { label: 'zstd, one payload', compression: 'zstd', sizes: [[6000, 'text']], signers: 1 },
];

const CHUNK_SIZES = [1, 7, 512, 513, 4096, 65536];

interface Mutated {
  bytes: Buffer;
  readonly steps: string[];
}

function describeCase(index: number, base: Base, chunkBytes: number, trusted: boolean, steps: readonly string[]): string {
  return `SLIPWAY_FUZZ_SEED=${SEED} case ${index} of [${base.label}], chunkBytes=${chunkBytes}, ${trusted ? 'under the root' : 'without a root'}; mutations: ${steps.join(', ')}`;
}

/** Writes a size into a header the way the writer would (octal, or base-256 past 8 GiB). */
function setSize(header: Buffer, size: number): void {
  encodeHeader('x', size, 0).copy(header, HEADER_FIELD.size, HEADER_FIELD.size, HEADER_FIELD.size + 12);
}

// Structure-aware mutations work on the base artifact's layout, before any blind mutation shifts it.

function editHeader(m: Mutated, base: Base, rng: Rng): void {
  const { split } = base;
  const blocks = [
    ...split.entries.map((e) => ({ label: e.name, offset: e.headerOffset, size: e.data.length })),
    { label: 'end block 1', offset: split.endOffset, size: 0 },
    { label: 'end block 2', offset: split.endOffset + BLOCK, size: 0 },
  ];
  const target = rng.pick(blocks);
  const header = Buffer.from(m.bytes.subarray(target.offset, target.offset + BLOCK));
  const kind = rng.pick(['size', 'size', 'size', 'type', 'name', 'magic', 'prefix', 'checksum-only'] as const);
  let detail: string;
  switch (kind) {
    case 'size': {
      const value = Math.max(
        0,
        rng.pick([
          0,
          1,
          target.size - 1,
          target.size + 1,
          target.size - 512,
          target.size + 512,
          target.size * 2,
          8 ** 11 - 1,
          2 ** 33,
          2 ** 53 - 1,
        ]),
      );
      setSize(header, value);
      detail = `size=${value}`;
      break;
    }
    case 'type': {
      const flag = rng.pick(['1', '2', '5', 'x', 'g', 'L', 'K', '7', '\0', 'S']);
      header.write(flag, HEADER_FIELD.typeflag, 1, 'latin1');
      detail = `typeflag=${JSON.stringify(flag)}`;
      break;
    }
    case 'name': {
      const name = rng.pick([
        MANIFEST_ENTRY,
        SIGNATURES_ENTRY,
        'payload/payload-0.bin',
        'payload/payload-1.bin',
        'payload/../../etc/passwd',
        '/etc/passwd',
        'payload\\x',
        'payload/',
        'payload/\u00e9',
        '',
        'x'.repeat(100),
      ]);
      header.fill(0, 0, 100);
      header.write(name, 0, 100, 'latin1');
      detail = `name=${JSON.stringify(name)}`;
      break;
    }
    case 'magic': {
      header.write(rng.pick(['ustar  \0', 'USTAR\x0000', '\0\0\0\0\0\0\0\0']), HEADER_FIELD.magic, 8, 'latin1');
      detail = 'magic';
      break;
    }
    case 'prefix': {
      header.write('dir', 345, 'latin1');
      detail = 'prefix';
      break;
    }
    case 'checksum-only':
      detail = 'checksum recomputed';
      break;
  }
  fixChecksum(header);
  header.copy(m.bytes, target.offset);
  m.steps.push(`header[${target.label}].${detail}`);
}

function rewriteSlot(m: Mutated, base: Base, rng: Rng): void {
  const { signatures } = base.split;
  const slotBytes = signatures.data.length / 2;
  const slot = rng.int(2);
  const current = base.signatures;
  const variant = rng.pick(['empty', 'duplicate', 'drop-first', 'foreign-keyid', 'garbage', 'newer', 'huge-generation'] as const);
  let list: Signature[] = [...current];
  let generation = 0;
  switch (variant) {
    case 'empty':
      list = [];
      break;
    case 'duplicate':
      list = [...current, ...current];
      break;
    case 'drop-first':
      list = current.slice(1);
      break;
    case 'foreign-keyid':
      list = current.map((s) => ({ keyid: rng.bytes(32).toString('hex'), sig: s.sig }));
      break;
    case 'newer':
      generation = 1 + rng.int(3);
      break;
    case 'huge-generation':
      generation = rng.pick([Number.MAX_SAFE_INTEGER, 2 ** 53, -1]);
      break;
    case 'garbage':
      break;
  }
  const bytes = variant === 'garbage' ? rng.bytes(slotBytes) : uncheckedSlot(list, generation, slotBytes);
  bytes.copy(m.bytes, signatures.dataOffset + slot * slotBytes);
  m.steps.push(`slot[${slot}]=${variant}(generation ${generation}, ${list.length} signatures)`);
}

/** A compromised release key signs a damaged manifest: the parser behind the signature check is fuzzed too. */
async function resignManifest(m: Mutated, base: Base, rng: Rng, key: TestKey): Promise<void> {
  const manifest = JSON.parse(base.split.manifest.data.toString('utf8')) as Record<string, unknown>;
  const payloads = manifest.payloads as Record<string, unknown>[];
  const payload = rng.pick(payloads);
  const edit = rng.pick([
    'size',
    'uncompressedSize',
    'compression',
    'name',
    'sha256',
    'drop-payload',
    'duplicate-payload',
    'swap-payloads',
    'drop-field',
    'extra-field',
    'version',
    'flip-byte',
  ] as const);
  switch (edit) {
    case 'size':
    case 'uncompressedSize':
      payload[edit] = Math.max(0, (payload[edit] as number) + rng.pick([-1, 1, -512, 512, 1e6, -(payload[edit] as number)]));
      break;
    case 'compression':
      payload.compression = rng.pick(['none', 'gzip', 'zstd', 'bzip2']);
      break;
    case 'name':
      payload.name = rng.pick(['payload-0.bin', 'payload-1.bin', 'other.bin', '../x', '.hidden']);
      break;
    case 'sha256':
      payload.sha256 = rng.bytes(32).toString('hex');
      break;
    case 'drop-payload':
      payloads.splice(payloads.indexOf(payload), 1);
      break;
    case 'duplicate-payload':
      payloads.push({ ...payload });
      break;
    case 'swap-payloads':
      payloads.reverse();
      break;
    case 'drop-field':
      delete payload[rng.pick(['size', 'sha256', 'compression'])];
      break;
    case 'extra-field':
      payload.mode = 0o4755;
      break;
    case 'version':
      manifest.version = rng.pick(['1.0.1', '', '../1', 'x'.repeat(70)]);
      break;
    case 'flip-byte':
      break;
  }
  let manifestBytes = Buffer.from(JSON.stringify(manifest, null, rng.chance(0.5) ? 2 : 0), 'utf8');
  if (edit === 'flip-byte') {
    manifestBytes = Buffer.from(base.split.manifest.data);
    const at = rng.int(manifestBytes.length);
    manifestBytes[at] = (manifestBytes[at] as number) ^ (1 << rng.int(8));
  }
  const signatures = await signManifest(manifestBytes, [key]);
  const slotBytes = base.split.signatures.data.length / 2;
  const slot = uncheckedSlot(signatures, 0, slotBytes);
  const entries: TarEntrySpec[] = [
    { name: MANIFEST_ENTRY, data: manifestBytes },
    { name: SIGNATURES_ENTRY, data: Buffer.concat([slot, slot]) },
    ...base.split.payloads.map((p) => ({ name: p.name, data: p.data })),
  ];
  m.bytes = buildTar(entries);
  m.steps.push(`re-signed manifest with ${edit} edited`);
}

function blindMutation(m: Mutated, rng: Rng): void {
  const length = m.bytes.length;
  // Some edits at block boundaries, so the entries after them stay aligned and get parsed.
  const at = rng.chance(0.3) ? Math.min(length, rng.int(Math.floor(length / BLOCK) + 1) * BLOCK) : rng.int(length + 1);
  const runLength = () => rng.pick([1, 2, 3, rng.int(64) + 1, 511, 512, 513, 1024, rng.int(2048) + 1]);
  const kind = rng.pick(['flip', 'flip', 'flip', 'set', 'truncate', 'insert', 'delete', 'overwrite', 'duplicate-block'] as const);
  switch (kind) {
    case 'flip': {
      const pos = Math.min(at, length - 1);
      const mask = rng.chance(0.5) ? 1 << rng.int(8) : 1 + rng.int(255);
      m.bytes[pos] = (m.bytes[pos] as number) ^ mask;
      m.steps.push(`flip@${pos}^0x${mask.toString(16)}`);
      return;
    }
    case 'set': {
      const pos = Math.min(at, length - 1);
      const value = rng.pick([0x00, 0xff, 0x20, 0x30, 0x37, 0x38, 0x7b, 0x22, 0x80]);
      m.bytes[pos] = value;
      m.steps.push(`set@${pos}=0x${value.toString(16)}`);
      return;
    }
    case 'truncate':
      m.bytes = m.bytes.subarray(0, at);
      m.steps.push(`truncate@${at}`);
      return;
    case 'insert': {
      const n = runLength();
      const zero = rng.chance(0.3);
      m.bytes = Buffer.concat([m.bytes.subarray(0, at), zero ? Buffer.alloc(n) : rng.bytes(n), m.bytes.subarray(at)]);
      m.steps.push(`insert@${at}+${n}${zero ? ' zero' : ''}`);
      return;
    }
    case 'delete': {
      const n = runLength();
      m.bytes = Buffer.concat([m.bytes.subarray(0, at), m.bytes.subarray(at + n)]);
      m.steps.push(`delete@${at}-${at + n}`);
      return;
    }
    case 'overwrite': {
      const n = Math.min(runLength(), length - Math.min(at, length));
      const zero = rng.chance(0.4);
      (zero ? Buffer.alloc(n) : rng.bytes(n)).copy(m.bytes, at);
      m.steps.push(`overwrite@${at}+${n}${zero ? ' zero' : ''}`);
      return;
    }
    case 'duplicate-block': {
      const blocks = Math.floor(length / BLOCK);
      if (blocks === 0) return;
      const from = rng.int(blocks) * BLOCK;
      const to = rng.int(blocks + 1) * BLOCK;
      m.bytes = Buffer.concat([m.bytes.subarray(0, to), m.bytes.subarray(from, from + BLOCK), m.bytes.subarray(to)]);
      m.steps.push(`duplicate-block ${from}->${to}`);
      return;
    }
  }
}

/** Damage inside one payload's stored bytes only: the decoders and hashes see it, the tar layer does not. */
function damagePayload(m: Mutated, base: Base, rng: Rng): void {
  const payloads = base.split.payloads.filter((p) => p.data.length > 0);
  if (payloads.length === 0) return;
  const payload = rng.pick(payloads);
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i++) {
    const at = payload.dataOffset + rng.int(payload.data.length);
    const mask = 1 + rng.int(255);
    m.bytes[at] = (m.bytes[at] as number) ^ mask;
    m.steps.push(`${payload.name}@${at - payload.dataOffset}^0x${mask.toString(16)}`);
  }
}

async function mutate(base: Base, rng: Rng, key: TestKey): Promise<Mutated> {
  const m: Mutated = { bytes: Buffer.from(base.bytes), steps: [] };
  const structural = rng.int(10);
  if (structural < 2) editHeader(m, base, rng);
  else if (structural < 3) rewriteSlot(m, base, rng);
  else if (structural < 4) await resignManifest(m, base, rng, key);
  else if (structural < 6) damagePayload(m, base, rng);
  const blind = m.steps.length === 0 ? 1 + rng.int(3) : rng.int(2);
  for (let i = 0; i < blind; i++) blindMutation(m, rng);
  return m;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `hang: no outcome after ${ms} ms: ${what()}` })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkOutcome(outcome: ReadOutcome, base: Base, context: string): string {
  if (outcome.error === null) {
    assert.equal(outcome.payloads.length, base.payloads.length, `read succeeded with the wrong number of payloads: ${context}`);
    for (const [i, payload] of base.payloads.entries()) {
      assert.ok(outcome.payloads[i]?.equals(payload), `read succeeded but payload ${i} differs from the original: ${context}`);
    }
    return 'ok';
  }
  const err = outcome.error;
  if (!(err instanceof SlipwayError)) {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    assert.fail(`untyped error escaped the reader: ${context}\n${text}`);
  }
  assert.ok(READER_CODES.has(err.code), `unexpected code ${err.code} (${err.message}): ${context}`);
  assert.ok(outcome.sourceClosed, `the reader left its source open after ${err.code}: ${context}`);
  return err.code;
}

describe('artifact reader under mutation fuzzing', () => {
  let cleanup: () => Promise<void>;
  let releaseKey: TestKey;
  let trust: TrustedRoot;
  const bases: Base[] = [];

  before(async () => {
    const scratch = await scratchDir();
    cleanup = scratch.cleanup;
    // Fixed seed: the base artifacts are identical on every run, so a printed case seed reproduces.
    const rng = new Rng(0x5119_3a7e);
    releaseKey = seededKey(rng);
    const secondKey = seededKey(rng);
    trust = await makeTrustedRoot({ rootKeys: [makeKey()], releaseKeys: [releaseKey, secondKey] });
    for (const spec of BASES) {
      const contents = spec.sizes.map(([size, kind]) => (kind === 'text' ? rng.text(size) : rng.bytes(size)));
      const artifact = await makeArtifact(scratch.dir, {
        contents,
        compression: spec.compression,
        signers: spec.signers === 2 ? [releaseKey, secondKey] : [releaseKey],
        signatureSpace: 2048,
      });
      const split = splitArtifact(artifact.bytes);
      bases.push({
        label: spec.label,
        bytes: artifact.bytes,
        payloads: artifact.payloads,
        split,
        signatures: readSignatureSlots(split.signatures.data).signatures,
      });
    }
  });
  after(() => cleanup());

  for (const [baseIndex, spec] of BASES.entries()) {
    const cases = Math.ceil(ITERATIONS / BASES.length);
    test(`every mutation of a signed artifact (${spec.label}) reads back as the original or fails with an SLW_ARTIFACT_* code`, async (t) => {
      const base = bases[baseIndex];
      assert.ok(base);
      // The unmutated artifact must read, or every case below would pass by failing.
      const clean = await probeRead(base.bytes, { trust, chunkBytes: 7 });
      checkOutcome(clean, base, 'unmutated');
      assert.equal(clean.error, null);

      const seed = (SEED + baseIndex * 0x9e3779b1) >>> 0;
      const rng = new Rng(seed);
      const tally = new Map<string, number>();
      for (let i = 0; i < cases; i++) {
        const m = await mutate(base, rng, releaseKey);
        // Most cases read the artifact in one chunk; a quarter split it at odd places, a few byte by byte.
        const chunkBytes = rng.chance(0.75)
          ? 64 * 1024
          : rng.chance(0.1)
            ? 1
            : rng.chance(0.3)
              ? 1 + rng.int(64 * 1024)
              : rng.pick(CHUNK_SIZES);
        const trusted = !rng.chance(0.15);
        const context = describeCase(i, base, chunkBytes, trusted, m.steps);
        const outcome = await withTimeout(
          probeRead(m.bytes, { trust: trusted ? trust : null, chunkBytes }),
          CASE_TIMEOUT_MS,
          () => context,
        );
        const result = checkOutcome(outcome, base, context);
        tally.set(result, (tally.get(result) ?? 0) + 1);
      }
      t.diagnostic(
        `SLIPWAY_FUZZ_SEED=${SEED}, ${cases} cases: ${[...tally].map(([k, v]) => `${k.replace('SLW_ARTIFACT_', '')}=${v}`).join(' ')}`,
      );
      // A harness bug that makes every case fail the same way would hide reader bugs.
      if (cases >= 200)
        assert.ok(tally.size >= 6, `only ${tally.size} distinct outcomes in ${cases} cases: ${[...tally.keys()].join(', ')}`);
    });
  }
});

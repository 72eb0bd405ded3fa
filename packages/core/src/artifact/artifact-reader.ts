import { createHash, type Hash } from 'node:crypto';
import { PAYLOAD_TYPE_MANIFEST } from '../crypto/pae.js';
import type { Signature } from '../crypto/signature.js';
import { SlipwayError } from '../errors/slipway-error.js';
import { ByteReader } from '../io/byte-reader.js';
import type { ChunkSource } from '../io/chunk-source.js';
import type { TrustedRoot } from '../trust/root-verification.js';
import { validSigners } from '../trust/threshold.js';
import { decode } from './compression.js';
import { MAX_PAYLOADS, type Manifest, type PayloadInfo, parseManifest, payloadEntryName } from './manifest.js';
import { MAX_SIGNATURE_BLOCK_BYTES, readSignatureSlots, type SignatureSlots } from './signature-block.js';
import { assertSafeEntryName, BLOCK, decodeHeader, isZeroPadding, paddingFor, type TarEntryHeader } from './tar-header.js';

export const MANIFEST_ENTRY = 'manifest.json';
export const SIGNATURES_ENTRY = 'signatures.json';

export interface ArtifactLimits {
  readonly maxManifestBytes: number;
  readonly maxSignatureBlockBytes: number;
  readonly maxPayloads: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxManifestBytes: 1024 * 1024,
  maxSignatureBlockBytes: MAX_SIGNATURE_BLOCK_BYTES,
  maxPayloads: MAX_PAYLOADS,
};

export interface OpenArtifactOptions {
  /** The root whose release keys must have signed. `null` reads without verifying (inspect only). */
  readonly trust: TrustedRoot | null;
  readonly limits?: Partial<ArtifactLimits>;
}

/** Where the fixed parts of an artifact sit, for signing in place. */
export interface ArtifactLayout {
  readonly manifestOffset: number;
  readonly signatureBlockOffset: number;
  readonly signatureBlockSize: number;
  readonly signatureSlots: SignatureSlots;
  readonly payloadsOffset: number;
}

/** One payload as bytes flow: iterate it once; it throws on the first byte that breaks the signed facts. */
export interface PayloadStream extends AsyncIterable<Uint8Array> {
  readonly info: PayloadInfo;
  readonly index: number;
}

/**
 * Streaming, verify-first reader of .slw artifacts. `open` reads the manifest and signatures and,
 * with a trust root, refuses the artifact before any payload byte is read unless a threshold of
 * release keys signed the manifest's exact bytes. `payloads()` then yields each payload as a
 * stream hashed as it flows; the whole artifact is verified only when that iteration completes.
 */
export class ArtifactReader {
  private consumed = false;

  private constructor(
    private readonly bytes: ByteReader,
    readonly manifest: Manifest,
    readonly manifestBytes: Buffer,
    readonly signatures: readonly Signature[],
    /** Release keys whose signatures counted; empty when read without a trust root. */
    readonly signedBy: readonly string[],
    readonly layout: ArtifactLayout,
  ) {}

  get verified(): boolean {
    return this.signedBy.length > 0;
  }

  static async open(source: ChunkSource, options: OpenArtifactOptions): Promise<ArtifactReader> {
    const limits = { ...DEFAULT_ARTIFACT_LIMITS, ...options.limits };
    const bytes = new ByteReader(source);
    try {
      const manifestHeader = await readEntryHeader(bytes, 'the manifest header');
      if (manifestHeader === null) throw new SlipwayError('SLW_ARTIFACT_MALFORMED', 'artifact is empty: no manifest');
      expectFixedEntry(manifestHeader, MANIFEST_ENTRY, []);
      if (manifestHeader.size > limits.maxManifestBytes) {
        throw new SlipwayError(
          'SLW_ARTIFACT_MANIFEST_TOO_LARGE',
          `manifest is ${manifestHeader.size} bytes; the limit is ${limits.maxManifestBytes}`,
        );
      }
      const manifestOffset = bytes.position;
      const manifestBytes = await bytes.readExact(manifestHeader.size, 'the manifest');
      await readPadding(bytes, manifestHeader.size);

      const signatureHeader = await readEntryHeader(bytes, 'the signatures header');
      if (signatureHeader === null) throw new SlipwayError('SLW_ARTIFACT_MALFORMED', 'artifact has no signature block');
      expectFixedEntry(signatureHeader, SIGNATURES_ENTRY, [MANIFEST_ENTRY]);
      if (signatureHeader.size > limits.maxSignatureBlockBytes) {
        throw new SlipwayError(
          'SLW_ARTIFACT_SIGNATURES_MALFORMED',
          `signature block is ${signatureHeader.size} bytes; the limit is ${limits.maxSignatureBlockBytes}`,
        );
      }
      const signatureBlockOffset = bytes.position;
      const signatureSlots = readSignatureSlots(await bytes.readExact(signatureHeader.size, 'the signature block'));
      const signatures = signatureSlots.signatures;
      await readPadding(bytes, signatureHeader.size);

      // Verify the exact manifest bytes before parsing them (TUF: check signatures, then trust content).
      let signedBy: string[] = [];
      if (options.trust !== null) {
        const role = options.trust.roles.release;
        signedBy = [...validSigners(options.trust.keys, role, PAYLOAD_TYPE_MANIFEST, manifestBytes, signatures)];
        if (signedBy.length < role.threshold) {
          throw new SlipwayError(
            'SLW_ARTIFACT_SIGNATURE_INVALID',
            `artifact has ${signedBy.length} valid signature(s) by release keys of root version ${options.trust.version}; it needs ${role.threshold}`,
            { details: { validSignatures: signedBy.length, threshold: role.threshold } },
          );
        }
      }
      const manifest = parseManifest(manifestBytes);
      if (manifest.payloads.length > limits.maxPayloads) {
        throw new SlipwayError(
          'SLW_ARTIFACT_TOO_MANY_ENTRIES',
          `artifact has ${manifest.payloads.length} payloads; the limit is ${limits.maxPayloads}`,
        );
      }
      const layout = {
        manifestOffset,
        signatureBlockOffset,
        signatureBlockSize: signatureHeader.size,
        signatureSlots,
        payloadsOffset: bytes.position,
      };
      return new ArtifactReader(bytes, manifest, manifestBytes, signatures, signedBy, layout);
    } catch (err) {
      await bytes.close();
      throw err;
    }
  }

  /**
   * Yields each payload in manifest order. A payload the caller does not iterate is still read
   * and verified before the next one. After the last payload the end of the archive is checked:
   * two zero blocks and then nothing.
   */
  async *payloads(): AsyncGenerator<PayloadStream, void, undefined> {
    if (this.consumed) throw new Error('ArtifactReader.payloads() can be iterated once');
    this.consumed = true;
    try {
      const seen = new Set<string>([MANIFEST_ENTRY, SIGNATURES_ENTRY]);
      const later = new Set(this.manifest.payloads.map((p) => payloadEntryName(p.name)));
      for (const [index, info] of this.manifest.payloads.entries()) {
        const expected = payloadEntryName(info.name);
        const header = await readEntryHeader(this.bytes, `the header of payload ${info.name}`);
        if (header === null) throw new SlipwayError('SLW_ARTIFACT_TRUNCATED', `artifact ends before payload ${info.name}`);
        if (header.name !== expected) {
          if (seen.has(header.name)) throw new SlipwayError('SLW_ARTIFACT_DUPLICATE_ENTRY', `entry ${header.name} appears twice`);
          if (later.has(header.name)) {
            throw new SlipwayError(
              'SLW_ARTIFACT_ENTRY_ORDER',
              `entry ${header.name} comes before ${expected}; payloads must follow manifest order`,
            );
          }
          throw new SlipwayError(
            'SLW_ARTIFACT_UNEXPECTED_ENTRY',
            `entry ${header.name} is not a payload of this artifact (expected ${expected})`,
          );
        }
        seen.add(expected);
        later.delete(expected);
        // Endless-data defence: the entry must be exactly the signed size, checked before its first byte.
        if (header.size !== info.size) {
          throw new SlipwayError(
            'SLW_ARTIFACT_SIZE_MISMATCH',
            `payload ${info.name} is stored as ${header.size} bytes but the manifest signs ${info.size}`,
          );
        }
        const stream = new VerifyingPayloadStream(this.bytes, info, index);
        yield stream;
        await stream.finish();
      }
      await this.readEnd(seen);
    } finally {
      await this.bytes.close();
    }
  }

  private async readEnd(seen: ReadonlySet<string>): Promise<void> {
    const first = await readEntryHeader(this.bytes, 'the end-of-archive marker');
    if (first !== null) {
      if (seen.has(first.name)) throw new SlipwayError('SLW_ARTIFACT_DUPLICATE_ENTRY', `entry ${first.name} appears twice`);
      throw new SlipwayError('SLW_ARTIFACT_UNEXPECTED_ENTRY', `entry ${first.name} follows the last payload of the manifest`);
    }
    const second = await this.bytes.readExact(BLOCK, 'the end-of-archive marker');
    if (!isZeroPadding(second)) throw new SlipwayError('SLW_ARTIFACT_MALFORMED', 'end-of-archive marker is not two zero blocks');
    if (!(await this.bytes.atEnd())) throw new SlipwayError('SLW_ARTIFACT_TRAILING_DATA', 'bytes follow the end of the artifact');
  }

  /** Reads and verifies every payload, discarding the bytes. */
  async verifyPayloads(onBytes?: (storedBytes: number) => void): Promise<void> {
    for await (const payload of this.payloads()) {
      for await (const chunk of payload) onBytes?.(chunk.length);
    }
  }

  /** Releases the source without reading further (e.g. after `inspect`). */
  close(): Promise<void> {
    this.consumed = true;
    return this.bytes.close();
  }
}

async function readEntryHeader(bytes: ByteReader, what: string): Promise<TarEntryHeader | null> {
  const header = decodeHeader(await bytes.readExact(BLOCK, what));
  if (header !== null) assertSafeEntryName(header.name);
  return header;
}

function expectFixedEntry(header: TarEntryHeader, expected: string, earlier: readonly string[]): void {
  if (header.name === expected) return;
  if (earlier.includes(header.name)) throw new SlipwayError('SLW_ARTIFACT_DUPLICATE_ENTRY', `entry ${header.name} appears twice`);
  if (header.name === SIGNATURES_ENTRY || header.name.startsWith('payload/')) {
    throw new SlipwayError('SLW_ARTIFACT_ENTRY_ORDER', `entry ${header.name} comes where ${expected} must be`);
  }
  throw new SlipwayError('SLW_ARTIFACT_UNEXPECTED_ENTRY', `entry ${header.name} is not part of the format (expected ${expected})`);
}

async function readPadding(bytes: ByteReader, size: number): Promise<void> {
  const padding = paddingFor(size);
  if (padding === 0) return;
  if (!isZeroPadding(await bytes.readExact(padding, 'entry padding'))) {
    throw new SlipwayError('SLW_ARTIFACT_MALFORMED', 'entry padding is not zero');
  }
}

function hashMismatch(info: PayloadInfo, which: string): SlipwayError {
  return new SlipwayError('SLW_ARTIFACT_HASH_MISMATCH', `payload ${info.name} does not match its signed ${which}`);
}

class VerifyingPayloadStream implements PayloadStream {
  private state: 'fresh' | 'reading' | 'done' | 'abandoned' = 'fresh';

  constructor(
    private readonly bytes: ByteReader,
    readonly info: PayloadInfo,
    readonly index: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.state !== 'fresh') throw new Error(`payload ${this.info.name} can be iterated once`);
    this.state = 'reading';
    return this.read();
  }

  private async *read(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      // Uncompressed: the stored bytes are the content (the manifest guarantees equal sizes).
      if (this.info.compression === 'none') yield* this.readUncompressed();
      else yield* this.readCompressed();
      await readPadding(this.bytes, this.info.size);
      this.state = 'done';
    } finally {
      if (this.state !== 'done') this.state = 'abandoned';
    }
  }

  /** Exactly the signed number of stored bytes, as borrowed views. */
  private storedBytes(): AsyncGenerator<Uint8Array, void, undefined> {
    return this.bytes.readRange(this.info.size, `payload ${this.info.name}`);
  }

  /** Stored bytes are the content: hashed as they pass; throws at the end if they are not the signed ones. */
  private async *readUncompressed(): AsyncGenerator<Uint8Array, void, undefined> {
    const hash = createHash('sha256');
    for await (const view of this.storedBytes()) {
      hash.update(view);
      yield view;
    }
    if (hash.digest('hex') !== this.info.sha256) throw hashMismatch(this.info, 'sha256');
  }

  /**
   * Only the content is hashed: its signed size and SHA-256 decide, whatever the stored bytes were.
   * Stored bytes that decode to other content fail the hash; ones that do not decode, or leave
   * stored bytes unread, are corrupt; the stored length itself was fixed by the tar header check.
   */
  private async *readCompressed(): AsyncGenerator<Uint8Array, void, undefined> {
    const info = this.info;
    let storedConsumed = false;
    const content: Hash = createHash('sha256');
    let produced = 0;
    const corrupt = (cause: unknown) =>
      new SlipwayError('SLW_ARTIFACT_PAYLOAD_CORRUPT', `payload ${info.name} is not valid ${info.compression} data`, { cause });
    const self = this;
    const stored = (async function* () {
      yield* self.storedBytes();
      storedConsumed = true;
    })();
    for await (const out of decode(info.compression as 'gzip' | 'zstd', stored, corrupt)) {
      produced += out.length;
      // Decompression-bomb defence: never produce more than the signed uncompressed size.
      if (produced > info.uncompressedSize) {
        throw new SlipwayError(
          'SLW_ARTIFACT_PAYLOAD_TOO_LONG',
          `payload ${info.name} decompresses past its signed ${info.uncompressedSize} bytes`,
        );
      }
      content.update(out);
      yield out;
    }
    if (!storedConsumed) throw corrupt(new Error('decompressor stopped before the end of the stored bytes'));
    if (produced !== info.uncompressedSize) {
      throw new SlipwayError(
        'SLW_ARTIFACT_SIZE_MISMATCH',
        `payload ${info.name} decompresses to ${produced} bytes, not the signed ${info.uncompressedSize}`,
      );
    }
    if (content.digest('hex') !== info.sha256) throw hashMismatch(info, 'sha256');
  }

  /** Called by the reader before moving on: reads an untouched payload to verify it. */
  async finish(): Promise<void> {
    if (this.state === 'fresh') {
      for await (const _ of this) {
        // discarded: the bytes are only verified
      }
    }
    if (this.state !== 'done') {
      throw new SlipwayError('SLW_ARTIFACT_TRUNCATED', `payload ${this.info.name} was not read to its end`);
    }
  }
}

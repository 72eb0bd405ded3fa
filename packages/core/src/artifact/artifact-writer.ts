import { createHash } from 'node:crypto';
import { type FileHandle, open, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { PAYLOAD_TYPE_MANIFEST } from '../crypto/pae.js';
import { type Signature, type Signer, signPayload } from '../crypto/signature.js';
import { fileError, SlipwayError } from '../errors/slipway-error.js';
import { assertAbsent, commitTempFile, tempPathFor } from '../io/atomic-file.js';
import { FileChunkSource } from '../io/chunk-source.js';
import { BackgroundWriteback } from '../io/writeback.js';
import { toTimestamp } from '../schema/formats.js';
import { validateSchema } from '../schema/validate.js';
import { withSignature } from '../trust/envelope.js';
import { DEFAULT_ARTIFACT_LIMITS, MANIFEST_ENTRY, SIGNATURES_ENTRY } from './artifact-reader.js';
import { encode, MAX_ZSTD_LEVEL } from './compression.js';
import { GZIP_BLOCK_BYTES, GZIP_HELD_INPUT_CHUNKS, type GzipEngineName } from './gzip-encoder.js';
import {
  type Compression,
  MANIFEST_FORMAT_VERSION,
  type Manifest,
  ManifestSchema,
  type PayloadInfo,
  parseManifest,
  payloadEntryName,
} from './manifest.js';
import { assertSignatureSpace, DEFAULT_SIGNATURE_SPACE, encodeSignatureBlock } from './signature-block.js';
import { BLOCK, encodeHeader, paddingFor } from './tar-header.js';

export interface ArtifactPayloadInput {
  readonly path: string;
  /** Defaults to the file's base name. */
  readonly name?: string;
}

export interface CreateArtifactOptions {
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly deviceTypes: readonly string[];
  readonly payloadType: string;
  readonly payloads: readonly ArtifactPayloadInput[];
  readonly compression: Compression;
  readonly compressionLevel?: number | undefined;
  /** gzip only: force the zlib or libdeflate engine; by default libdeflate is used when built. */
  readonly gzipEngine?: GzipEngineName | 'auto' | undefined;
  readonly expiresAt?: Date | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly now: Date;
  /** Sign while creating; the result equals creating and then `artifact sign` with each key. */
  readonly signers?: readonly Signer[];
  /** Bytes reserved for signatures so signing later never moves the payloads. */
  readonly signatureSpace?: number | undefined;
  readonly overwrite?: boolean | undefined;
  readonly onProgress?: ((doneBytes: number, totalBytes: number) => void) | undefined;
}

export interface CreatedArtifact {
  readonly manifest: Manifest;
  readonly manifestBytes: Buffer;
  readonly signatures: readonly Signature[];
  readonly sizeBytes: number;
}

const PLACEHOLDER_HASH = '0'.repeat(64);
const ZERO_BLOCKS = Buffer.alloc(2 * BLOCK);

/**
 * Writes an artifact in one pass over each payload. The manifest must come first but depends on
 * the payloads' hashes, so the writer reserves the manifest's largest possible size, streams the
 * payloads behind it, then writes the manifest (padded with trailing spaces, which are signed
 * like every other byte) and the signature block in front. Output appears atomically at `outPath`.
 */
export async function createArtifact(outPath: string, options: CreateArtifactOptions): Promise<CreatedArtifact> {
  const inputs = await describeInputs(options.payloads);
  const draft = draftManifest(options, inputs);
  const reserved = serializeManifest(draft).length;
  if (reserved > DEFAULT_ARTIFACT_LIMITS.maxManifestBytes) {
    throw new SlipwayError(
      'SLW_ARTIFACT_MANIFEST_TOO_LARGE',
      `manifest would be ${reserved} bytes; the limit is ${DEFAULT_ARTIFACT_LIMITS.maxManifestBytes}`,
    );
  }
  const signatureSpace = options.signatureSpace ?? DEFAULT_SIGNATURE_SPACE;
  assertSignatureSpace(signatureSpace);
  if (!options.overwrite) await assertAbsent(outPath);

  const temp = tempPathFor(outPath);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (err) {
    throw fileError(err, outPath, 'write');
  }
  const writeback = new BackgroundWriteback(handle);
  try {
    const mtime = Math.floor(options.now.getTime() / 1000);
    const totalBytes = inputs.reduce((sum, input) => sum + input.size, 0);
    let done = 0;
    const progress = (bytes: number) => {
      done += bytes;
      options.onProgress?.(done, totalBytes);
    };
    let position = 2 * BLOCK + reserved + paddingFor(reserved) + signatureSpace + paddingFor(signatureSpace);
    const payloads: PayloadInfo[] = [];
    for (const input of inputs) {
      const headerAt = position;
      position += BLOCK;
      const written = await writePayload(handle, writeback, position, input, options, progress);
      position += written.size;
      position += await writeAt(handle, Buffer.alloc(paddingFor(written.size)), position);
      await writeAt(handle, encodeHeader(payloadEntryName(input.name), written.size, mtime), headerAt);
      payloads.push({ name: input.name, compression: options.compression, ...written });
    }
    position += await writeAt(handle, ZERO_BLOCKS, position);

    const manifest: Manifest = { ...draft, payloads };
    const manifestBytes = Buffer.alloc(reserved, 0x20);
    serializeManifest(manifest).copy(manifestBytes);
    parseManifest(manifestBytes); // what we write must be what every reader accepts
    let signatures: Signature[] = [];
    for (const signer of options.signers ?? []) {
      signatures = withSignature(
        signatures,
        await signPayload(signer, PAYLOAD_TYPE_MANIFEST, manifestBytes),
        'SLW_ARTIFACT_TOO_MANY_SIGNATURES',
      );
    }
    const head = Buffer.concat([
      encodeHeader(MANIFEST_ENTRY, reserved, mtime),
      manifestBytes,
      Buffer.alloc(paddingFor(reserved)),
      encodeHeader(SIGNATURES_ENTRY, signatureSpace, mtime),
      encodeSignatureBlock(signatures, signatureSpace),
      Buffer.alloc(paddingFor(signatureSpace)),
    ]);
    await writeAt(handle, head, 0);
    await writeback.finish();
    await handle.close();
    await commitTempFile(temp, outPath);
    return { manifest, manifestBytes, signatures, sizeBytes: position };
  } catch (err) {
    await writeback.settle();
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err instanceof SlipwayError ? err : fileError(err, outPath, 'write');
  }
}

interface PayloadSource {
  readonly path: string;
  readonly name: string;
  readonly size: number;
}

async function describeInputs(payloads: readonly ArtifactPayloadInput[]): Promise<PayloadSource[]> {
  if (payloads.length === 0) throw new SlipwayError('SLW_USAGE_MISSING_OPTION', 'an artifact needs at least one payload');
  const names = new Set<string>();
  const sources: PayloadSource[] = [];
  for (const payload of payloads) {
    const name = payload.name ?? basename(payload.path);
    if (names.has(name)) throw new SlipwayError('SLW_ARTIFACT_DUPLICATE_ENTRY', `two payloads are named ${name}`);
    names.add(name);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(payload.path);
    } catch (err) {
      throw fileError(err, payload.path, 'read');
    }
    if (!info.isFile()) throw new SlipwayError('SLW_IO_NOT_A_FILE', `${payload.path} is not a regular file`);
    sources.push({ path: payload.path, name, size: info.size });
  }
  return sources;
}

function draftManifest(options: CreateArtifactOptions, inputs: readonly PayloadSource[]): Manifest {
  const draft: Manifest = {
    type: 'slipway-artifact',
    formatVersion: MANIFEST_FORMAT_VERSION,
    name: options.name,
    version: options.version,
    securityVersion: options.securityVersion,
    deviceTypes: [...options.deviceTypes],
    payloadType: options.payloadType,
    // Largest possible values, so the real manifest can only be shorter than the reservation.
    payloads: inputs.map((input) => ({
      name: input.name,
      compression: options.compression,
      size: Number.MAX_SAFE_INTEGER,
      uncompressedSize: Number.MAX_SAFE_INTEGER,
      sha256: PLACEHOLDER_HASH,
    })),
    createdAt: toTimestamp(options.now),
    ...(options.expiresAt ? { expiresAt: toTimestamp(options.expiresAt) } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
  if (options.expiresAt && options.expiresAt.getTime() <= options.now.getTime()) {
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', 'the artifact expiry must be in the future');
  }
  if (
    options.compression === 'zstd' &&
    options.compressionLevel !== undefined &&
    (options.compressionLevel < 1 || options.compressionLevel > MAX_ZSTD_LEVEL)
  ) {
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `zstd levels run from 1 to ${MAX_ZSTD_LEVEL}`);
  }
  if (
    options.compression === 'gzip' &&
    options.compressionLevel !== undefined &&
    (options.compressionLevel < 1 || options.compressionLevel > 9)
  ) {
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', 'gzip levels run from 1 to 9');
  }
  return validateSchema(ManifestSchema, draft, 'SLW_ARTIFACT_MANIFEST_INVALID', 'manifest');
}

function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position + offset);
    offset += bytesWritten;
  }
  return bytes.length;
}

type WrittenPayload = Pick<PayloadInfo, 'size' | 'uncompressedSize' | 'sha256'>;

async function writePayload(
  handle: FileHandle,
  writeback: BackgroundWriteback,
  start: number,
  input: PayloadSource,
  options: CreateArtifactOptions,
  progress: (bytes: number) => void,
): Promise<WrittenPayload> {
  const compressed = options.compression !== 'none';
  // gzip compresses several blocks at once and holds their chunks meanwhile: a longer ring of block-sized reads.
  const source =
    options.compression === 'gzip'
      ? await FileChunkSource.open(input.path, { chunkBytes: GZIP_BLOCK_BYTES, ringSize: GZIP_HELD_INPUT_CHUNKS + 2 })
      : await FileChunkSource.open(input.path);
  const content = createHash('sha256');
  let contentBytes = 0;
  async function* readContent(): AsyncGenerator<Uint8Array> {
    for (let chunk = await source.next(); chunk !== null; chunk = await source.next()) {
      contentBytes += chunk.length;
      progress(chunk.length);
      yield chunk;
      // Hashed once the encoder has taken the chunk (gzip has queued its compression by now); it
      // stays intact until the next read. Uncompressed content is hashed below, as it is written.
      if (compressed) content.update(chunk);
    }
  }
  try {
    let position = start;
    const output = compressed
      ? encode(options.compression as 'gzip' | 'zstd', readContent(), { level: options.compressionLevel, gzipEngine: options.gzipEngine })
      : readContent();
    for await (const chunk of output) {
      const writing = writeAt(handle, chunk, position);
      // Hash while a pool thread copies the same bytes into the file: both only read the chunk.
      if (!compressed) content.update(chunk);
      position += await writing;
      writeback.wrote(chunk.length);
    }
    if (contentBytes !== input.size) {
      throw new SlipwayError('SLW_ARTIFACT_PAYLOAD_CHANGED', `${input.path} changed size while it was being read`);
    }
    return { size: position - start, uncompressedSize: contentBytes, sha256: content.digest('hex') };
  } finally {
    await source.close();
  }
}

// Test fixtures made at run time: keys, signed trust roots and artifacts. Nothing here is
// committed key material; every run generates its own.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArtifactReader,
  bufferSource,
  buildRoot,
  type Compression,
  type CreateArtifactOptions,
  createArtifact,
  type ErrorCode,
  fileKeySigner,
  type GeneratableKeyType,
  generateKeyPair,
  PAYLOAD_TYPE_ROOT,
  type ParsedRoot,
  parsePrivateKey,
  parseRoot,
  type Signer,
  serializeEnvelope,
  signPayload,
  type TrustedRoot,
  toTimestamp,
  verifyRoot,
} from '../../src/index.js';

export const NOW = new Date('2026-11-24T12:00:00Z');
export const DAY_MS = 86_400_000;

export interface TestKey {
  readonly signer: Signer;
  readonly privatePem: string;
  readonly keyId: string;
}

export function makeKey(type: GeneratableKeyType = 'ed25519'): TestKey {
  const pair = generateKeyPair(type);
  const signer = fileKeySigner(parsePrivateKey(pair.privatePem));
  return { signer, privatePem: pair.privatePem, keyId: signer.keyId };
}

export interface RootOptions {
  readonly version?: number;
  readonly rootKeys: readonly TestKey[];
  readonly releaseKeys: readonly TestKey[];
  readonly rootThreshold?: number;
  readonly releaseThreshold?: number;
  readonly expires?: Date;
  /** Keys that sign the root; defaults to all of rootKeys. */
  readonly signedBy?: readonly TestKey[];
}

/** Builds and signs a root, returning its serialized bytes (what a file or a device holds). */
export async function makeRootBytes(options: RootOptions): Promise<Buffer> {
  const unsigned = buildRoot({
    version: options.version ?? 1,
    expires: toTimestamp(options.expires ?? new Date(NOW.getTime() + 365 * DAY_MS)),
    rootKeys: options.rootKeys.map((k) => k.signer.publicKey),
    releaseKeys: options.releaseKeys.map((k) => k.signer.publicKey),
    rootThreshold: options.rootThreshold ?? 1,
    releaseThreshold: options.releaseThreshold ?? 1,
  });
  return signRootBytes(unsigned, options.signedBy ?? options.rootKeys);
}

export async function signRootBytes(root: ParsedRoot, keys: readonly TestKey[]): Promise<Buffer> {
  const signatures = [...root.envelope.signatures];
  for (const key of keys) signatures.push(await signPayload(key.signer, PAYLOAD_TYPE_ROOT, root.envelope.payload));
  return Buffer.from(serializeEnvelope({ ...root.envelope, signatures }));
}

export async function makeTrustedRoot(options: RootOptions): Promise<TrustedRoot> {
  return verifyRoot(parseRoot(await makeRootBytes(options)), { now: NOW });
}

/** A scratch directory removed by the returned cleanup. */
export async function scratchDir(prefix = 'slipway-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface ArtifactFixture {
  readonly path: string;
  readonly bytes: Buffer;
  readonly payloads: readonly Buffer[];
}

export interface MakeArtifactOptions extends Partial<Omit<CreateArtifactOptions, 'payloads' | 'signers'>> {
  /** Payload contents; each is written to a file named payload-<i>.bin. */
  readonly contents?: readonly Buffer[];
  readonly compression?: Compression;
  readonly signers?: readonly TestKey[];
}

/** Creates an artifact in `dir` through the real writer and returns its bytes. */
export async function makeArtifact(dir: string, options: MakeArtifactOptions = {}): Promise<ArtifactFixture> {
  const contents = options.contents ?? [randomBytes(100_000)];
  const payloads = [];
  for (const [i, content] of contents.entries()) {
    const path = join(dir, `payload-${i}.bin`);
    await writeFile(path, content);
    payloads.push({ path });
  }
  const path = join(dir, `artifact-${randomBytes(4).toString('hex')}.slw`);
  const { contents: _c, signers, ...rest } = options;
  await createArtifact(path, {
    name: 'gateway-os',
    version: '1.0.0',
    securityVersion: 5,
    deviceTypes: ['gw-100'],
    payloadType: 'rootfs',
    compression: 'none',
    now: NOW,
    ...rest,
    payloads,
    signers: (signers ?? []).map((k) => k.signer),
  });
  return { path, bytes: await readFile(path), payloads: contents };
}

/** Reads an artifact held in memory and returns every payload's content, fully verified. */
export async function readAll(bytes: Uint8Array, trust: TrustedRoot | null, chunkBytes?: number): Promise<Buffer[]> {
  const reader = await ArtifactReader.open(bufferSource(bytes, chunkBytes), { trust });
  const out: Buffer[] = [];
  for await (const payload of reader.payloads()) {
    const parts: Buffer[] = [];
    for await (const chunk of payload) parts.push(Buffer.from(chunk));
    out.push(Buffer.concat(parts));
  }
  return out;
}

/**
 * Matcher for assert.throws / assert.rejects: a SlipwayError with this code. On a mismatch the
 * assertion prints the actual name and code, not just "validation failed".
 */
export function slipwayError(code: ErrorCode): { readonly name: 'SlipwayError'; readonly code: ErrorCode } {
  return { name: 'SlipwayError', code };
}

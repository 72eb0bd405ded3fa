// Keys and signed trust roots for server tests, made with the same core functions the CLI uses.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import {
  buildRoot,
  createArtifact,
  fileKeySigner,
  generateKeyPair,
  PAYLOAD_TYPE_ROOT,
  parsePrivateKey,
  type Signer,
  serializeEnvelope,
  signPayload,
} from '@slipway/core';

export function newSigner(): Signer {
  return fileKeySigner(parsePrivateKey(generateKeyPair('ed25519').privatePem));
}

export interface RootOptions {
  readonly version: number;
  readonly rootKeys: readonly Signer[];
  readonly releaseKeys: readonly Signer[];
  /** Who signs it: its own root keys, and for a rotation the previous ones too. */
  readonly signers: readonly Signer[];
  readonly expires?: Date;
  readonly releaseThreshold?: number;
}

/** root.json text, signed by `signers`. */
export async function signedRoot(options: RootOptions): Promise<string> {
  const root = buildRoot({
    version: options.version,
    expires: (options.expires ?? new Date(Date.now() + 365 * 86_400_000)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    rootKeys: options.rootKeys.map((s) => s.publicKey),
    releaseKeys: options.releaseKeys.map((s) => s.publicKey),
    rootThreshold: 1,
    releaseThreshold: options.releaseThreshold ?? 1,
  });
  const signatures = await Promise.all(options.signers.map((s) => signPayload(s, PAYLOAD_TYPE_ROOT, root.envelope.payload)));
  return serializeEnvelope({ ...root.envelope, signatures });
}

/** Writes a small artifact (one rootfs payload of `bytes`) signed by `signers` to `path`. */
export async function writeArtifact(
  path: string,
  options: { name: string; version: string; signers: readonly Signer[]; bytes?: Buffer; deviceTypes?: string[] },
): Promise<void> {
  const payload = `${path}.payload`;
  await writeFile(payload, options.bytes ?? randomBytes(200_000));
  await createArtifact(path, {
    name: options.name,
    version: options.version,
    securityVersion: 1,
    deviceTypes: options.deviceTypes ?? ['gw-a'],
    payloadType: 'rootfs',
    payloads: [{ path: payload, name: 'rootfs.img' }],
    compression: 'gzip',
    now: new Date(),
    signers: options.signers,
  });
}

// Release and root keys and signed trust roots for tests, made with the same core functions the
// CLI uses (never committed: generated at run time).
import {
  buildRoot,
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
  /** Default: a year from now. */
  readonly expires?: Date;
  readonly releaseThreshold?: number;
}

/** root.json text (thresholds 1 unless given), signed by `signers`. */
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

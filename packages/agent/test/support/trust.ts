// Keys and signed roots for agent tests, made with the same core functions the CLI uses.
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

export const signer = (): Signer => fileKeySigner(parsePrivateKey(generateKeyPair('ed25519').privatePem));

/** root.json bytes of `version`, signed by `signers` (thresholds 1). */
export async function signedRoot(
  version: number,
  rootKeys: readonly Signer[],
  releaseKeys: readonly Signer[],
  signers: readonly Signer[],
  expires = new Date(Date.now() + 86_400_000),
): Promise<Buffer> {
  const built = buildRoot({
    version,
    expires: expires.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    rootKeys: rootKeys.map((s) => s.publicKey),
    releaseKeys: releaseKeys.map((s) => s.publicKey),
    rootThreshold: 1,
    releaseThreshold: 1,
  });
  const signatures = await Promise.all(signers.map((s) => signPayload(s, PAYLOAD_TYPE_ROOT, built.envelope.payload)));
  return Buffer.from(serializeEnvelope({ ...built.envelope, signatures }));
}

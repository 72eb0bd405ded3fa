// Keys and signed roots for agent tests: @slipway/testkit's, as bytes (what a device reads).
import type { Signer } from '@slipway/core';
import { newSigner, signedRoot as rootText } from '@slipway/testkit';

export const signer = newSigner;

/** root.json bytes of `version`, signed by `signers` (thresholds 1). */
export async function signedRoot(
  version: number,
  rootKeys: readonly Signer[],
  releaseKeys: readonly Signer[],
  signers: readonly Signer[],
  expires = new Date(Date.now() + 86_400_000),
): Promise<Buffer> {
  return Buffer.from(await rootText({ version, rootKeys, releaseKeys, signers, expires }));
}

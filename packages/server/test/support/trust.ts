// Keys, signed trust roots (from @slipway/testkit) and small artifacts for server tests.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createArtifact, type Signer } from '@slipway/core';

export { newSigner, type RootOptions, signedRoot } from '@slipway/testkit';

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

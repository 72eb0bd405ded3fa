import { readFile } from 'node:fs/promises';
import {
  assertOwnerOnly,
  fileError,
  fileKeySigner,
  type PrivateKeyInfo,
  type PublicKeyInfo,
  parsePrivateKey,
  parsePublicKey,
  readSecretFile,
  type Signer,
  SlipwayError,
} from '@slipway/core';
import type { CliEnvironment } from './environment.js';

export async function readInputFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw fileError(err, path, 'read');
  }
}

export async function loadPublicKey(path: string): Promise<PublicKeyInfo> {
  return parsePublicKey(await readInputFile(path), path);
}

/**
 * Loads a private key file as a signer. Like ssh, refuses a key that group or others can read:
 * a release key is the most valuable secret of the fleet.
 */
export async function loadSigner(path: string, env: CliEnvironment): Promise<Signer> {
  return fileKeySigner(await loadPrivateKey(path, env));
}

/** A private key file, with the same checks as loadSigner: not a public key, not readable by others. */
export async function loadPrivateKey(path: string, env: CliEnvironment): Promise<PrivateKeyInfo> {
  const { bytes: pem, mode } = await readSecretFile(path);
  // A public key is the wrong file, not a leaky one: say so before any chmod advice.
  if (pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new SlipwayError('SLW_KEY_INVALID', `${path} is a public key; signing needs the private key (.key)`);
  }
  assertOwnerOnly(path, mode);
  return parsePrivateKey(pem, path, env.keyPassphrase);
}

import { type PublicKeyInfo, parsePublicKey, SlipwayError } from '@slipway/core';
import type { ServerConfig } from '../config/server-config.js';

const SCHEME_OF = { 'ecdsa-p256': 'ecdsa-p256-sha256', ed25519: 'ed25519', rsa: 'rsa-pss-sha256' } as const;

/**
 * A device public key under the fleet's policy: first the built-in key policy (no RSA below 3072,
 * no curve but P-256, nothing exotic), then the configured one, which can only narrow it.
 */
export function parseDeviceKey(pem: string, policy: ServerConfig['devices']): PublicKeyInfo {
  let key: PublicKeyInfo;
  try {
    key = parsePublicKey(pem, 'device key');
  } catch (err) {
    throw new SlipwayError('SLW_DEVICE_KEY_REFUSED', `device key refused: ${(err as Error).message}`, { cause: err });
  }
  const allowed = policy.keyTypes.map((t) => SCHEME_OF[t]) as string[];
  if (!allowed.includes(key.scheme)) {
    throw new SlipwayError(
      'SLW_DEVICE_KEY_REFUSED',
      `device key type ${key.scheme} is not allowed here (allowed: ${policy.keyTypes.join(', ')})`,
    );
  }
  const bits = key.key.asymmetricKeyDetails?.modulusLength;
  if (key.scheme === 'rsa-pss-sha256' && (bits ?? 0) < policy.rsaMinBits) {
    throw new SlipwayError('SLW_DEVICE_KEY_REFUSED', `RSA device keys need at least ${policy.rsaMinBits} bits, this one has ${bits}`);
  }
  return key;
}

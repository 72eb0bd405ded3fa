import type { KeyObject } from 'node:crypto';
import { SlipwayError } from '../errors/slipway-error.js';

/**
 * The signature schemes Slipway accepts. The scheme is derived from the key, never read from a
 * signature, so a signature cannot pick a weaker algorithm (algorithm-confusion defence).
 * - ed25519: pure Ed25519.
 * - ecdsa-p256-sha256: ECDSA over P-256 with SHA-256, raw r||s (64 bytes), as PKCS#11 tokens emit.
 * - rsa-pss-sha256: RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
 */
export type SignatureScheme = 'ed25519' | 'ecdsa-p256-sha256' | 'rsa-pss-sha256';

/** The key types `slipway key generate` offers. */
export const GENERATABLE_KEY_TYPES = ['ed25519', 'ecdsa-p256', 'rsa-3072', 'rsa-4096'] as const;
export type GeneratableKeyType = (typeof GENERATABLE_KEY_TYPES)[number];

export const RSA_MIN_BITS = 3072;
/** Bigger RSA keys buy nothing over 4096 and make every verification slower (a cheap DoS lever). */
export const RSA_MAX_BITS = 4096;

/** Returns the scheme for a key, or throws when policy refuses the key. */
export function schemeForKey(key: KeyObject): SignatureScheme {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ed25519';
    case 'ec':
      if (details.namedCurve !== 'prime256v1') {
        throw new SlipwayError('SLW_KEY_TOO_WEAK', `EC curve ${details.namedCurve ?? 'unknown'} is refused by policy; use P-256`);
      }
      return 'ecdsa-p256-sha256';
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        throw new SlipwayError('SLW_KEY_TOO_WEAK', `RSA-${bits} is refused by policy; use ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`);
      }
      if (details.publicExponent !== 65537n) {
        throw new SlipwayError('SLW_KEY_TOO_WEAK', 'RSA keys must use the public exponent 65537');
      }
      return 'rsa-pss-sha256';
    }
    default:
      throw new SlipwayError(
        'SLW_KEY_TYPE_UNSUPPORTED',
        `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported; use ed25519, ecdsa-p256 or rsa-3072`,
      );
  }
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SlipwayError } from '../errors/slipway-error.js';
import { type GeneratableKeyType, type SignatureScheme, schemeForKey } from './key-policy.js';

/** A public key accepted by policy, with its ID (hex SHA-256 of the SPKI DER). */
export interface PublicKeyInfo {
  readonly keyId: string;
  readonly scheme: SignatureScheme;
  readonly key: KeyObject;
  /** SubjectPublicKeyInfo PEM, exactly as Node exports it. */
  readonly pem: string;
}

export interface PrivateKeyInfo {
  readonly keyId: string;
  readonly scheme: SignatureScheme;
  readonly key: KeyObject;
  readonly publicKey: PublicKeyInfo;
}

export interface GeneratedKeyPair {
  readonly privatePem: string;
  readonly publicKey: PublicKeyInfo;
}

export function keyIdOf(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

function describePublic(key: KeyObject): PublicKeyInfo {
  const scheme = schemeForKey(key);
  const pem = key.export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(key), scheme, key, pem };
}

export function generateKeyPair(type: GeneratableKeyType): GeneratedKeyPair {
  const pair = (() => {
    switch (type) {
      case 'ed25519':
        return generateKeyPairSync('ed25519');
      case 'ecdsa-p256':
        return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      case 'rsa-3072':
        return generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 65537 });
      case 'rsa-4096':
        return generateKeyPairSync('rsa', { modulusLength: 4096, publicExponent: 65537 });
    }
  })();
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { privatePem, publicKey: describePublic(pair.publicKey) };
}

/** Parses an SPKI PEM public key and applies the key policy. */
export function parsePublicKey(pem: string | Uint8Array, source = 'public key'): PublicKeyInfo {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  // createPublicKey silently derives the public half of a private key; private key material in
  // a public slot (root.json, a signature file) would be published, so it is refused instead.
  if (/PRIVATE KEY-----/.test(text)) {
    throw new SlipwayError('SLW_KEY_INVALID', `${source} is a private key; give the public key (.pub)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new SlipwayError('SLW_KEY_INVALID', `${source} is not a PEM public key`, { cause: err });
  }
  if (key.type !== 'public') throw new SlipwayError('SLW_KEY_INVALID', `${source} is not a public key`);
  return describePublic(key);
}

/**
 * Parses a PKCS#8 PEM private key (optionally encrypted) and applies the key policy.
 * A public key given where a private one is needed is refused, never silently accepted.
 */
export function parsePrivateKey(pem: string | Uint8Array, source = 'private key', passphrase?: string): PrivateKeyInfo {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  if (!/-----BEGIN (ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.test(text)) {
    throw new SlipwayError('SLW_KEY_INVALID', `${source} is not a PEM private key`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', passphrase });
  } catch (err) {
    const encrypted = text.includes('ENCRYPTED');
    const why = encrypted ? 'is encrypted and the passphrase is missing or wrong' : 'cannot be parsed';
    throw new SlipwayError('SLW_KEY_INVALID', `${source} ${why}`, { cause: err });
  }
  const publicKey = describePublic(createPublicKey(key));
  return { keyId: publicKey.keyId, scheme: publicKey.scheme, key, publicKey };
}

import { constants, sign, verify } from 'node:crypto';
import type { PrivateKeyInfo, PublicKeyInfo } from './keys.js';
import { preAuthEncoding } from './pae.js';

/** One signature as stored in roots, artifacts and detached signature files. */
export interface Signature {
  readonly keyid: string;
  /** Base64 of the raw signature bytes. */
  readonly sig: string;
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;
const ECDSA_P256_SIGNATURE_BYTES = 64;

/** Anything that can sign bytes: a key file today, a PKCS#11 token later. */
export interface Signer {
  readonly keyId: string;
  readonly publicKey: PublicKeyInfo;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export function fileKeySigner(privateKey: PrivateKeyInfo): Signer {
  return {
    keyId: privateKey.keyId,
    publicKey: privateKey.publicKey,
    sign: async (data) => signRaw(privateKey, data),
  };
}

function signRaw(privateKey: PrivateKeyInfo, data: Uint8Array): Uint8Array {
  switch (privateKey.scheme) {
    case 'ed25519':
      return sign(null, data, privateKey.key);
    case 'ecdsa-p256-sha256':
      return sign('sha256', data, { key: privateKey.key, dsaEncoding: 'ieee-p1363' });
    case 'rsa-pss-sha256':
      return sign('sha256', data, { key: privateKey.key, ...PSS });
  }
}

export function verifyRaw(publicKey: PublicKeyInfo, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (publicKey.scheme) {
      case 'ed25519':
        return verify(null, data, publicKey.key, signature);
      case 'ecdsa-p256-sha256':
        if (signature.length !== ECDSA_P256_SIGNATURE_BYTES) return false;
        return verify('sha256', data, { key: publicKey.key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'rsa-pss-sha256':
        return verify('sha256', data, { key: publicKey.key, ...PSS }, signature);
    }
  } catch {
    // Malformed signature bytes are simply not a valid signature.
    return false;
  }
}

/** Signs PAE(payloadType, body) and returns the stored form. */
export async function signPayload(signer: Signer, payloadType: string, body: Uint8Array): Promise<Signature> {
  const raw = await signer.sign(preAuthEncoding(payloadType, body));
  return { keyid: signer.keyId, sig: Buffer.from(raw).toString('base64') };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function verifyPayloadSignature(publicKey: PublicKeyInfo, payloadType: string, body: Uint8Array, signature: Signature): boolean {
  if (signature.keyid !== publicKey.keyId || !BASE64.test(signature.sig)) return false;
  return verifyRaw(publicKey, preAuthEncoding(payloadType, body), Buffer.from(signature.sig, 'base64'));
}

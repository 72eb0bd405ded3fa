import { randomBytes } from 'node:crypto';
import { preAuthEncoding } from '../crypto/pae.js';
import type { Signer } from '../crypto/signature.js';
import type { DeviceIdentity } from './identity.js';

/** Signed by the device key over PAE(type, exact body bytes): never valid as any other signature. */
export const PAYLOAD_TYPE_DEVICE_AUTH = 'application/vnd.slipway.device-auth+json';
/** Signed by both the current and the proposed key in a two-step key rotation. */
export const PAYLOAD_TYPE_DEVICE_KEY_ROTATION = 'application/vnd.slipway.device-key-rotation+json';
/** Base64 signature by the key the request authenticates with. */
export const DEVICE_SIGNATURE_HEADER = 'x-slipway-signature';
/** Base64 signature by the proposed key (key rotation only). */
export const DEVICE_NEW_KEY_SIGNATURE_HEADER = 'x-slipway-new-key-signature';

export interface DeviceAuthRequest {
  readonly identity: DeviceIdentity;
  /** SPKI PEM of the key that signs the request. */
  readonly publicKey: string;
  /** ISO 8601; the server refuses one too far from its own clock. */
  readonly timestamp: string;
  /** At least 128 random bits, base64url; the server refuses one it has seen. */
  readonly nonce: string;
  /** Optional PEM certificate from the manufacturing CA, for zero-touch admission. */
  readonly certificate?: string;
}

export interface DeviceKeyRotationRequest {
  /** SPKI PEM of the proposed key. */
  readonly newPublicKey: string;
  readonly timestamp: string;
  readonly nonce: string;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

export interface SignedBody {
  readonly body: Buffer;
  /** Base64 signature over PAE(type, body). */
  readonly signature: string;
}

/** Serialises a request once and signs those exact bytes: the server verifies what was sent. */
export async function signDeviceRequest(signer: Signer, payloadType: string, request: object): Promise<SignedBody> {
  const body = Buffer.from(JSON.stringify(request), 'utf8');
  const signature = Buffer.from(await signer.sign(preAuthEncoding(payloadType, body))).toString('base64');
  return { body, signature };
}

export interface SignedKeyRotation extends SignedBody {
  /** Base64 signature by the proposed key over the same bytes. */
  readonly newKeySignature: string;
}

/** A key rotation proposal, signed by the current key and by the proposed one over the same bytes. */
export async function signKeyRotation(current: Signer, proposed: Signer, request: DeviceKeyRotationRequest): Promise<SignedKeyRotation> {
  const signed = await signDeviceRequest(current, PAYLOAD_TYPE_DEVICE_KEY_ROTATION, request);
  const newKeySignature = Buffer.from(await proposed.sign(preAuthEncoding(PAYLOAD_TYPE_DEVICE_KEY_ROTATION, signed.body))).toString(
    'base64',
  );
  return { ...signed, newKeySignature };
}

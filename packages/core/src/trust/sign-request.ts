import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { type Static, Type } from '@sinclair/typebox';
import { type Manifest, parseManifest } from '../artifact/manifest.js';
import { parsePublicKey } from '../crypto/keys.js';
import { PAYLOAD_TYPE_MANIFEST, PAYLOAD_TYPE_ROOT } from '../crypto/pae.js';
import { type Signature, type Signer, signPayload, verifyPayloadSignature } from '../crypto/signature.js';
import { SlipwayError } from '../errors/slipway-error.js';
import { Base64, KeyId, Sha256Hex } from '../schema/formats.js';
import { parseJson, validateSchema } from '../schema/validate.js';
import { RootBodySchema } from './root.js';

/**
 * Air-gapped signing. A sign request carries the exact bytes to sign plus a summary for the
 * human at the offline machine; the summary shown there is always recomputed from the bytes,
 * and a request whose summary disagrees is refused (a doctored request cannot mislead the signer).
 */
const PayloadTypeSchema = Type.Union([Type.Literal(PAYLOAD_TYPE_MANIFEST), Type.Literal(PAYLOAD_TYPE_ROOT)]);

const SignRequestSchema = Type.Object(
  {
    type: Type.Literal('slipway-sign-request'),
    specVersion: Type.Literal(1),
    payloadType: PayloadTypeSchema,
    payload: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 2 * 1024 * 1024 }),
    payloadSha256: Sha256Hex,
    summary: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
export type SignRequest = Static<typeof SignRequestSchema>;

const DetachedSignatureSchema = Type.Object(
  {
    type: Type.Literal('slipway-signature'),
    specVersion: Type.Literal(1),
    payloadType: PayloadTypeSchema,
    payloadSha256: Sha256Hex,
    keyid: KeyId,
    publicKey: Type.String({ maxLength: 4096 }),
    sig: Base64,
  },
  { additionalProperties: false },
);
export type DetachedSignature = Static<typeof DetachedSignatureSchema>;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Like the root branch below: bytes that are not what the request declares make the request invalid. */
function manifestOf(bytes: Uint8Array): Manifest {
  try {
    return parseManifest(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : 'not a manifest';
    throw new SlipwayError('SLW_SIGN_REQUEST_INVALID', `sign request payload: ${why}`, { cause: err });
  }
}

/** What a human must see before signing, derived only from the bytes being signed. */
export function summarizePayload(payloadType: string, bytes: Uint8Array): Record<string, unknown> {
  if (payloadType === PAYLOAD_TYPE_MANIFEST) {
    const m = manifestOf(bytes);
    return {
      kind: 'artifact',
      name: m.name,
      version: m.version,
      securityVersion: m.securityVersion,
      deviceTypes: m.deviceTypes,
      payloadType: m.payloadType,
      payloads: m.payloads.map((p) => ({ name: p.name, uncompressedSize: p.uncompressedSize, sha256: p.sha256 })),
      createdAt: m.createdAt,
      ...(m.expiresAt ? { expiresAt: m.expiresAt } : {}),
    };
  }
  const body = validateSchema(
    RootBodySchema,
    parseJson(bytes, 'SLW_SIGN_REQUEST_INVALID', 'root body'),
    'SLW_SIGN_REQUEST_INVALID',
    'root body',
  );
  return {
    kind: 'root',
    version: body.version,
    expires: body.expires,
    rootKeys: body.roles.root.keyids,
    rootThreshold: body.roles.root.threshold,
    releaseKeys: body.roles.release.keyids,
    releaseThreshold: body.roles.release.threshold,
  };
}

export function createSignRequest(payloadType: typeof PAYLOAD_TYPE_MANIFEST | typeof PAYLOAD_TYPE_ROOT, bytes: Uint8Array): SignRequest {
  return {
    type: 'slipway-sign-request',
    specVersion: 1,
    payloadType,
    payload: Buffer.from(bytes).toString('base64'),
    payloadSha256: sha256Hex(bytes),
    summary: summarizePayload(payloadType, bytes),
  };
}

export interface OpenedSignRequest {
  readonly request: SignRequest;
  readonly bytes: Buffer;
  readonly summary: Record<string, unknown>;
}

export function openSignRequest(json: Uint8Array): OpenedSignRequest {
  const request = validateSchema(
    SignRequestSchema,
    parseJson(json, 'SLW_SIGN_REQUEST_INVALID', 'sign request'),
    'SLW_SIGN_REQUEST_INVALID',
    'sign request',
  );
  const bytes = Buffer.from(request.payload, 'base64');
  if (sha256Hex(bytes) !== request.payloadSha256) {
    throw new SlipwayError('SLW_SIGN_REQUEST_MISMATCH', 'sign request payload does not match its payloadSha256');
  }
  const summary = summarizePayload(request.payloadType, bytes);
  if (!isDeepStrictEqual(summary, request.summary)) {
    throw new SlipwayError('SLW_SIGN_REQUEST_MISMATCH', 'sign request summary does not describe its payload; refusing to sign');
  }
  return { request, bytes, summary };
}

export async function signRequest(opened: OpenedSignRequest, signer: Signer): Promise<DetachedSignature> {
  const signature = await signPayload(signer, opened.request.payloadType, opened.bytes);
  return {
    type: 'slipway-signature',
    specVersion: 1,
    payloadType: opened.request.payloadType,
    payloadSha256: opened.request.payloadSha256,
    keyid: signature.keyid,
    publicKey: signer.publicKey.pem,
    sig: signature.sig,
  };
}

/**
 * Checks a detached signature against the bytes it is to be attached to and returns the stored
 * form, identical to what signing in place produces.
 */
export function acceptDetachedSignature(json: Uint8Array, payloadType: string, bytes: Uint8Array): Signature {
  const detached = validateSchema(
    DetachedSignatureSchema,
    parseJson(json, 'SLW_SIGN_REQUEST_INVALID', 'signature file'),
    'SLW_SIGN_REQUEST_INVALID',
    'signature file',
  );
  if (detached.payloadType !== payloadType || detached.payloadSha256 !== sha256Hex(bytes)) {
    throw new SlipwayError('SLW_SIGN_WRONG_TARGET', 'this signature was made for other bytes than this file');
  }
  const key = parsePublicKey(detached.publicKey, 'signature file public key');
  if (key.keyId !== detached.keyid) {
    throw new SlipwayError('SLW_KEY_ID_MISMATCH', 'signature file names a key ID that is not its public key');
  }
  const signature = { keyid: detached.keyid, sig: detached.sig };
  if (!verifyPayloadSignature(key, payloadType, bytes, signature)) {
    throw new SlipwayError('SLW_SIGN_SIGNATURE_INVALID', `signature by key ${key.keyId.slice(0, 12)}… does not verify`);
  }
  return signature;
}

import { Type } from '@sinclair/typebox';
import type { Signature } from '../crypto/signature.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { SlipwayError } from '../errors/slipway-error.js';
import { Base64, KeyId } from '../schema/formats.js';
import { parseJson, validateSchema } from '../schema/validate.js';

/** Hard cap on signatures in any envelope or signature block; more is an attack or a mistake. */
export const MAX_SIGNATURES = 32;

export const SignatureSchema = Type.Object({ keyid: KeyId, sig: Base64 }, { additionalProperties: false });
export const SignatureListSchema = Type.Array(SignatureSchema, { maxItems: MAX_SIGNATURES });

/**
 * A DSSE-style envelope: the signed bytes travel base64-encoded, so what is verified is exactly
 * what was signed, with no canonical-JSON step in between.
 */
export interface Envelope {
  readonly payloadType: string;
  readonly payload: Buffer;
  readonly signatures: readonly Signature[];
}

const EnvelopeSchema = Type.Object(
  {
    payloadType: Type.String({ maxLength: 128 }),
    payload: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
    signatures: Type.Array(SignatureSchema),
  },
  { additionalProperties: false },
);

export function parseEnvelope(bytes: Uint8Array, expectedType: string, code: ErrorCode, what: string): Envelope {
  const raw = validateSchema(EnvelopeSchema, parseJson(bytes, code, what), code, what);
  if (raw.payloadType !== expectedType) {
    throw new SlipwayError(code, `${what} has payload type ${raw.payloadType}, expected ${expectedType}`);
  }
  if (raw.signatures.length > MAX_SIGNATURES) {
    throw new SlipwayError(code, `${what} carries ${raw.signatures.length} signatures; at most ${MAX_SIGNATURES} are allowed`);
  }
  return { payloadType: raw.payloadType, payload: Buffer.from(raw.payload, 'base64'), signatures: raw.signatures };
}

export function serializeEnvelope(envelope: Envelope): string {
  const json = {
    payloadType: envelope.payloadType,
    payload: envelope.payload.toString('base64'),
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Adds a signature, replacing any earlier one by the same key (re-signing is idempotent and a key
 * never appears twice in a file Slipway wrote).
 */
export function withSignature(signatures: readonly Signature[], added: Signature, code: ErrorCode): Signature[] {
  const kept = signatures.filter((s) => s.keyid !== added.keyid);
  if (kept.length >= MAX_SIGNATURES) {
    throw new SlipwayError(code, `already ${kept.length} signatures; at most ${MAX_SIGNATURES} are allowed`);
  }
  return [...kept, added];
}

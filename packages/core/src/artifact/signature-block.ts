import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Signature } from '../crypto/signature.js';
import { SlipwayError } from '../errors/slipway-error.js';
import { Sha256Hex } from '../schema/formats.js';
import { validateSchema } from '../schema/validate.js';
import { MAX_SIGNATURES, SignatureSchema } from '../trust/envelope.js';

/**
 * The `signatures.json` entry is a fixed-size block of two equal slots, like a redundant U-Boot
 * environment. Each slot holds `{"generation":G,"signatures":[...],"check":"<sha256>"}` and
 * space padding. Signing in place writes generation G+1 into the slot that is *not* in use and
 * never moves a payload byte; a power cut mid-write can only tear that slot, whose check then
 * fails, so the reader falls back to the other slot and no signature is ever lost.
 */
export const DEFAULT_SIGNATURE_SPACE = 64 * 1024;
export const MIN_SIGNATURE_SPACE = 2 * 1024;
export const MAX_SIGNATURE_BLOCK_BYTES = 128 * 1024;

const SlotSchema = Type.Object(
  {
    generation: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    signatures: Type.Array(SignatureSchema),
    check: Sha256Hex,
  },
  { additionalProperties: false },
);

export interface SignatureSlots {
  readonly signatures: readonly Signature[];
  readonly generation: number;
  /** The slot the signatures were read from; the next write goes to the other one. */
  readonly activeSlot: 0 | 1;
  readonly slotBytes: number;
}

function checkOf(generation: number, signatures: readonly Signature[]): string {
  const canonical = JSON.stringify({ generation, signatures: signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) });
  return createHash('sha256').update(canonical).digest('hex');
}

export function assertSignatureSpace(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity % 2 !== 0 || capacity < MIN_SIGNATURE_SPACE || capacity > MAX_SIGNATURE_BLOCK_BYTES) {
    throw new SlipwayError(
      'SLW_USAGE_INVALID_OPTION',
      `signature space must be an even number of bytes from ${MIN_SIGNATURE_SPACE} to ${MAX_SIGNATURE_BLOCK_BYTES}`,
    );
  }
}

/** One slot's bytes, padded with spaces to `slotBytes`. */
export function encodeSignatureSlot(signatures: readonly Signature[], generation: number, slotBytes: number): Buffer {
  if (signatures.length > MAX_SIGNATURES) {
    throw new SlipwayError('SLW_ARTIFACT_TOO_MANY_SIGNATURES', `${signatures.length} signatures; at most ${MAX_SIGNATURES} are allowed`);
  }
  const list = signatures.map((s) => ({ keyid: s.keyid, sig: s.sig }));
  const json = Buffer.from(`${JSON.stringify({ generation, signatures: list, check: checkOf(generation, list) })}\n`, 'utf8');
  if (json.length > slotBytes) {
    throw new SlipwayError(
      'SLW_ARTIFACT_SIGNATURE_SPACE',
      `${signatures.length} signatures need ${json.length} bytes; each signature slot of this artifact holds ${slotBytes} (recreate it with a larger --signature-space)`,
    );
  }
  const slot = Buffer.alloc(slotBytes, 0x20);
  json.copy(slot);
  return slot;
}

/** A fresh block: both slots hold the same signatures at generation 0. */
export function encodeSignatureBlock(signatures: readonly Signature[], capacity: number): Buffer {
  assertSignatureSpace(capacity);
  const slot = encodeSignatureSlot(signatures, 0, capacity / 2);
  return Buffer.concat([slot, slot]);
}

function readSlot(bytes: Uint8Array): { generation: number; signatures: Signature[] } | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return null;
  }
  try {
    const slot = validateSchema(SlotSchema, value, 'SLW_ARTIFACT_SIGNATURES_MALFORMED', 'signature slot');
    if (slot.check !== checkOf(slot.generation, slot.signatures)) return null;
    return { generation: slot.generation, signatures: slot.signatures };
  } catch {
    return null;
  }
}

/** Picks the newest intact slot; two intact slots of one generation must agree. */
export function readSignatureSlots(bytes: Uint8Array): SignatureSlots {
  if (bytes.length % 2 !== 0 || bytes.length < MIN_SIGNATURE_SPACE) {
    throw new SlipwayError('SLW_ARTIFACT_SIGNATURES_MALFORMED', `signature block of ${bytes.length} bytes is not two equal slots`);
  }
  const slotBytes = bytes.length / 2;
  const slots = [readSlot(bytes.subarray(0, slotBytes)), readSlot(bytes.subarray(slotBytes))] as const;
  const [a, b] = slots;
  if (!a && !b) throw new SlipwayError('SLW_ARTIFACT_SIGNATURES_MALFORMED', 'both signature slots are damaged');
  let activeSlot: 0 | 1 = a && (!b || a.generation >= b.generation) ? 0 : 1;
  if (a && b && a.generation === b.generation) {
    if (checkOf(a.generation, a.signatures) !== checkOf(b.generation, b.signatures)) {
      throw new SlipwayError('SLW_ARTIFACT_SIGNATURES_MALFORMED', `signature slots disagree at generation ${a.generation}`);
    }
    activeSlot = 0;
  }
  const chosen = slots[activeSlot] as { generation: number; signatures: Signature[] };
  if (chosen.signatures.length > MAX_SIGNATURES) {
    throw new SlipwayError(
      'SLW_ARTIFACT_TOO_MANY_SIGNATURES',
      `artifact carries ${chosen.signatures.length} signatures; at most ${MAX_SIGNATURES} are allowed`,
    );
  }
  return { signatures: chosen.signatures, generation: chosen.generation, activeSlot, slotBytes };
}

export function parseSignatureBlock(bytes: Uint8Array): Signature[] {
  return [...readSignatureSlots(bytes).signatures];
}

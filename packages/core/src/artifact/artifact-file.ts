import { open } from 'node:fs/promises';
import { PAYLOAD_TYPE_MANIFEST } from '../crypto/pae.js';
import { type Signature, type Signer, signPayload } from '../crypto/signature.js';
import { fileError } from '../errors/slipway-error.js';
import { FileChunkSource } from '../io/chunk-source.js';
import { withSignature } from '../trust/envelope.js';
import type { TrustedRoot } from '../trust/root-verification.js';
import { type ArtifactLimits, ArtifactReader } from './artifact-reader.js';
import { encodeSignatureSlot } from './signature-block.js';

/** Opens an artifact file for streaming reads; `trust: null` is for inspection only. */
export async function openArtifactFile(path: string, trust: TrustedRoot | null, limits?: Partial<ArtifactLimits>): Promise<ArtifactReader> {
  const source = await FileChunkSource.open(path);
  return ArtifactReader.open(source, limits ? { trust, limits } : { trust });
}

/** Reads the manifest and signatures of an artifact file without touching its payloads. */
export async function readArtifactHead(path: string): Promise<ArtifactReader> {
  // Small chunks: only the head is needed.
  const source = await FileChunkSource.open(path, { chunkBytes: 256 * 1024 });
  const reader = await ArtifactReader.open(source, { trust: null });
  await reader.close();
  return reader;
}

/**
 * Adds (or replaces) one signature in place: the new list goes, one generation up, into the
 * signature slot not in use, and is synced to disk. The payloads are never rewritten, so signing
 * a 4 GiB image costs a 32 KiB write; a crash mid-write leaves the previous slot in force.
 */
export async function addArtifactSignature(path: string, signature: Signature, head?: ArtifactReader): Promise<readonly Signature[]> {
  head ??= await readArtifactHead(path);
  const { signatureSlots: slots, signatureBlockOffset } = head.layout;
  const signatures = withSignature(slots.signatures, signature, 'SLW_ARTIFACT_TOO_MANY_SIGNATURES');
  const slot = encodeSignatureSlot(signatures, slots.generation + 1, slots.slotBytes);
  const target = signatureBlockOffset + (slots.activeSlot === 0 ? 1 : 0) * slots.slotBytes;
  try {
    const handle = await open(path, 'r+');
    try {
      let written = 0;
      while (written < slot.length) {
        written += (await handle.write(slot, written, slot.length - written, target + written)).bytesWritten;
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw fileError(err, path, 'write');
  }
  return signatures;
}

/** `slipway artifact sign`: signs the manifest's exact bytes and stores the signature in place. */
export async function signArtifactFile(path: string, signer: Signer): Promise<Signature> {
  const head = await readArtifactHead(path);
  const signature = await signPayload(signer, PAYLOAD_TYPE_MANIFEST, head.manifestBytes);
  await addArtifactSignature(path, signature, head);
  return signature;
}

// Hand-made .slw streams for attack and fuzz tests: split a real artifact into its tar entries,
// then edit, reorder, duplicate or re-sign them and put the bytes back together.
import { createHash } from 'node:crypto';
import {
  BLOCK,
  encodeHeader,
  encodeSignatureBlock,
  encodeSignatureSlot,
  MANIFEST_ENTRY,
  type Manifest,
  PAYLOAD_TYPE_MANIFEST,
  type PayloadInfo,
  paddingFor,
  payloadEntryName,
  SIGNATURES_ENTRY,
  type Signature,
  signPayload,
  toTimestamp,
} from '../../src/index.js';
import { NOW, type TestKey } from './fixtures.js';

/** Two zero blocks: the end-of-archive marker. */
export const END_MARKER: Buffer = Buffer.alloc(2 * BLOCK);
const MTIME = Math.floor(NOW.getTime() / 1000);

/** Offsets of the ustar header fields the tests edit. */
export const HEADER_FIELD = { name: 0, size: 124, mtime: 136, checksum: 148, typeflag: 156, magic: 257 } as const;

/** Recomputes a ustar header's checksum in place (after any edit) and returns the block. */
export function fixChecksum(header: Buffer): Buffer {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** A header with any name (even an unsafe one, which encodeHeader accepts) and a valid checksum. */
export function rawHeader(name: string, size: number, edit?: (header: Buffer) => void): Buffer {
  const header = encodeHeader(name, size, MTIME);
  if (edit) {
    edit(header);
    fixChecksum(header);
  }
  return header;
}

/** A header of another tar entry type ('2' symlink, '5' directory, 'x' pax, ...), checksum fixed. */
export function headerWithType(name: string, size: number, typeflag: string): Buffer {
  return rawHeader(name, size, (h) => h.write(typeflag, HEADER_FIELD.typeflag, 1, 'latin1'));
}

export interface TarEntrySpec {
  readonly name: string;
  readonly data: Uint8Array;
  /** Used instead of an encoded header (for names, types and sizes the data does not have). */
  readonly header?: Buffer;
}

/** One entry: its header, its data, and zero padding to the next block. */
export function tarEntry(entry: TarEntrySpec): Buffer {
  const header = entry.header ?? encodeHeader(entry.name, entry.data.length, MTIME);
  return Buffer.concat([header, entry.data, Buffer.alloc(paddingFor(entry.data.length))]);
}

/** A tar stream of `entries` followed by the end marker (unless `end: false`). */
export function buildTar(entries: readonly TarEntrySpec[], options: { end?: boolean } = {}): Buffer {
  return Buffer.concat([...entries.map(tarEntry), options.end === false ? Buffer.alloc(0) : END_MARKER]);
}

export interface SplitEntry extends TarEntrySpec {
  readonly data: Buffer;
  readonly header: Buffer;
  readonly headerOffset: number;
  readonly dataOffset: number;
}

export interface SplitArtifact {
  /** manifest.json, signatures.json, then payload/<name> in manifest order. */
  readonly entries: readonly SplitEntry[];
  readonly manifest: SplitEntry;
  readonly signatures: SplitEntry;
  readonly payloads: readonly SplitEntry[];
  /** Offset of the end-of-archive marker. */
  readonly endOffset: number;
}

function octalField(header: Buffer, offset: number, width: number): number {
  return Number.parseInt(header.toString('latin1', offset, offset + width).replace(/[\0 ]+$/, ''), 8);
}

/** Splits a well-formed artifact (as the writer makes it) into entries with their offsets. */
export function splitArtifact(bytes: Buffer): SplitArtifact {
  const entries: SplitEntry[] = [];
  let offset = 0;
  for (;;) {
    const header = Buffer.from(bytes.subarray(offset, offset + BLOCK));
    if (header.length < BLOCK) throw new Error(`no end marker before offset ${offset}`);
    if (header.every((b) => b === 0)) break;
    const nameEnd = header.indexOf(0);
    const name = header.toString('latin1', 0, nameEnd === -1 || nameEnd > 100 ? 100 : nameEnd);
    const size = octalField(header, HEADER_FIELD.size, 12);
    const dataOffset = offset + BLOCK;
    entries.push({ name, header, headerOffset: offset, dataOffset, data: Buffer.from(bytes.subarray(dataOffset, dataOffset + size)) });
    offset = dataOffset + size + paddingFor(size);
  }
  const [manifest, signatures, ...payloads] = entries;
  if (manifest?.name !== MANIFEST_ENTRY || signatures?.name !== SIGNATURES_ENTRY) throw new Error('not an artifact');
  return { entries, manifest, signatures, payloads, endOffset: offset };
}

/** The check a signature slot carries (sha256 over its generation and signatures). */
export function slotCheck(generation: number, signatures: readonly Signature[]): string {
  const canonical = JSON.stringify({ generation, signatures: signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * A slot with a correct check but none of the writer's limits, for blocks the writer refuses to
 * make (too many signatures).
 */
export function uncheckedSlot(signatures: readonly Signature[], generation: number, slotBytes: number): Buffer {
  const list = signatures.map((s) => ({ keyid: s.keyid, sig: s.sig }));
  const json = `${JSON.stringify({ generation, signatures: list, check: slotCheck(generation, list) })}\n`;
  const slot = Buffer.alloc(slotBytes, 0x20);
  if (slot.write(json, 'utf8') < Buffer.byteLength(json)) throw new Error('slot too small');
  return slot;
}

/** A signature block of two slots, each given separately (generation, signatures) or as raw bytes. */
export function signatureBlockOf(slots: readonly [Buffer | SlotSpec, Buffer | SlotSpec], slotBytes: number): Buffer {
  return Buffer.concat(slots.map((s) => (Buffer.isBuffer(s) ? s : encodeSignatureSlot(s.signatures, s.generation, slotBytes))));
}

export interface SlotSpec {
  readonly generation: number;
  readonly signatures: readonly Signature[];
}

/** Replaces an artifact's signature block (same size) and returns new bytes. */
export function withSignatureBlock(bytes: Buffer, block: Buffer): Buffer {
  const { signatures } = splitArtifact(bytes);
  if (block.length !== signatures.data.length) throw new Error(`block is ${block.length} bytes, expected ${signatures.data.length}`);
  const out = Buffer.from(bytes);
  block.copy(out, signatures.dataOffset);
  return out;
}

/** Signs manifest bytes with each key (as a release signature unless another payload type is given). */
export async function signManifest(
  manifestBytes: Uint8Array,
  keys: readonly TestKey[],
  payloadType = PAYLOAD_TYPE_MANIFEST,
): Promise<Signature[]> {
  const signatures: Signature[] = [];
  for (const key of keys) signatures.push(await signPayload(key.signer, payloadType, manifestBytes));
  return signatures;
}

export interface CraftedPayload {
  readonly name: string;
  /** The bytes stored in the artifact. */
  readonly stored: Uint8Array;
  /** The content the stored bytes stand for (defaults to `stored`). */
  readonly content?: Uint8Array;
  readonly compression?: PayloadInfo['compression'];
  /** Overrides of the facts the manifest signs (sizes, hashes). */
  readonly info?: Partial<PayloadInfo>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A manifest written by hand: any facts, including false ones, for the reader to judge. */
export function craftManifest(payloads: readonly CraftedPayload[], overrides: Partial<Manifest> = {}): Buffer {
  const manifest: Manifest = {
    type: 'slipway-artifact',
    formatVersion: 1,
    name: 'gateway-os',
    version: '1.0.0',
    securityVersion: 5,
    deviceTypes: ['gw-100'],
    payloadType: 'rootfs',
    payloads: payloads.map((p) => {
      const content = p.content ?? p.stored;
      return {
        name: p.name,
        compression: p.compression ?? 'none',
        size: p.stored.length,
        uncompressedSize: content.length,
        sha256: sha256(content),
        ...p.info,
      };
    }),
    createdAt: toTimestamp(NOW),
    ...overrides,
  };
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

export interface AssembleOptions {
  readonly manifestBytes: Buffer;
  readonly signatures: readonly Signature[];
  readonly payloads: readonly CraftedPayload[];
  readonly signatureSpace?: number;
}

/** Assembles a complete artifact from a (hand-made) manifest, its signatures and stored payloads. */
export function assembleArtifact(options: AssembleOptions): Buffer {
  return buildTar([
    { name: MANIFEST_ENTRY, data: options.manifestBytes },
    { name: SIGNATURES_ENTRY, data: encodeSignatureBlock(options.signatures, options.signatureSpace ?? 4096) },
    ...options.payloads.map((p) => ({ name: payloadEntryName(p.name), data: p.stored })),
  ]);
}

import { SlipwayError } from '../errors/slipway-error.js';

/**
 * The strict subset of POSIX ustar that .slw artifacts use: regular files only, names in the
 * 100-byte name field (no prefix, no pax or GNU long-name records), sizes in octal or, past
 * 8 GiB, GNU base-256. Anything else is refused rather than interpreted.
 */
export const BLOCK = 512;
export const MAX_NAME_BYTES = 100;
const OCTAL_SIZE_LIMIT = 8 ** 11; // 11 octal digits

export interface TarEntryHeader {
  readonly name: string;
  readonly size: number;
}

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

function writeSize(block: Buffer, value: number): void {
  if (value < OCTAL_SIZE_LIMIT) {
    writeOctal(block, 124, 12, value);
    return;
  }
  // GNU base-256: high bit of the first byte set, big-endian binary in the rest of the field.
  block.fill(0, 124, 136);
  block[124] = 0x80;
  let rest = BigInt(value);
  for (let i = 135; i > 124; i--) {
    block[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

export function encodeHeader(name: string, size: number, mtimeSeconds: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > MAX_NAME_BYTES) {
    throw new SlipwayError('SLW_ARTIFACT_NAME_TOO_LONG', `entry name ${name} is longer than ${MAX_NAME_BYTES} bytes`);
  }
  const block = Buffer.alloc(BLOCK);
  nameBytes.copy(block, 0);
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeSize(block, size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(mtimeSeconds)));
  block.write('0', 156, 1, 'ascii');
  block.write('ustar\x0000', 257, 8, 'ascii');
  block.fill(0x20, 148, 156);
  writeOctal(block, 148, 7, checksum(block));
  block[155] = 0x20;
  return block;
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum;
}

function malformed(why: string): SlipwayError {
  return new SlipwayError('SLW_ARTIFACT_MALFORMED', `tar header: ${why}`);
}

function parseOctal(field: Uint8Array, what: string): number {
  let value = 0;
  let i = 0;
  while (i < field.length && field[i] === 0x20) i++; // leading spaces are legal ustar
  let digits = 0;
  for (; i < field.length; i++) {
    const c = field[i] as number;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw malformed(`${what} is not octal`);
    value = value * 8 + (c - 0x30);
    digits++;
  }
  for (; i < field.length; i++) if (field[i] !== 0 && field[i] !== 0x20) throw malformed(`${what} has bytes after its terminator`);
  if (digits === 0) throw malformed(`${what} is empty`);
  return value;
}

function parseSize(field: Uint8Array): number {
  if (((field[0] as number) & 0x80) === 0) return parseOctal(field, 'size');
  if (field[0] !== 0x80) throw malformed('size is negative or out of range');
  let value = 0n;
  for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i] as number);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('size is out of range');
  return Number(value);
}

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** Returns the entry header, or null for an all-zero (end-of-archive) block. */
export function decodeHeader(block: Buffer): TarEntryHeader | null {
  if (isZero(block)) return null;
  if (parseOctal(block.subarray(148, 156), 'checksum') !== checksum(block)) throw malformed('checksum mismatch');
  if (block.toString('latin1', 257, 265) !== 'ustar\x0000') throw malformed('not a POSIX ustar header');
  const type = block[156];
  if (type !== 0x30) {
    throw new SlipwayError(
      'SLW_ARTIFACT_UNEXPECTED_ENTRY',
      `entry type '${String.fromCharCode(type ?? 0)}' is not allowed; artifacts hold regular files only`,
    );
  }
  if (!isZero(block.subarray(345, 500))) {
    throw new SlipwayError('SLW_ARTIFACT_NAME_TOO_LONG', `entry name uses the ustar prefix; names are limited to ${MAX_NAME_BYTES} bytes`);
  }
  const nameField = block.subarray(0, MAX_NAME_BYTES);
  const end = nameField.indexOf(0);
  const nameLength = end === -1 ? MAX_NAME_BYTES : end;
  if (!isZero(nameField.subarray(nameLength))) throw malformed('entry name has bytes after its terminator');
  const name = nameField.toString('latin1', 0, nameLength);
  return { name, size: parseSize(block.subarray(124, 136)) };
}

/**
 * Refuses names that could escape a directory if anyone ever extracted the artifact with a
 * generic tool: absolute paths, `..` segments, backslashes, control characters.
 */
export function assertSafeEntryName(name: string): void {
  const unsafe =
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    /[\x00-\x1f\x7f-\xff]/.test(name) ||
    name.split('/').some((part) => part === '..' || part === '.' || part === '');
  if (unsafe) throw new SlipwayError('SLW_ARTIFACT_UNSAFE_NAME', `entry name ${JSON.stringify(name)} is not a safe relative path`);
}

export function isZeroPadding(bytes: Uint8Array): boolean {
  return isZero(bytes);
}

import { constants } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, readdir, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOCK, fileError, paddingFor, SlipwayError } from '@slipway/core';

/** Longest entry name or link target accepted (PATH_MAX on Linux). */
export const MAX_TAR_NAME_BYTES = 4096;
/** Largest pax extended header read into memory. */
export const MAX_PAX_HEADER_BYTES = 1024 * 1024;

export interface ExtractSummary {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly hardLinks: number;
  /** Bytes of file content written. */
  readonly bytes: number;
}

/**
 * Unpacks a tar stream (GNU, pax or ustar, as GNU tar writes them) into `dest`, an empty
 * directory, and fsyncs every file and directory it wrote before returning. Only regular files,
 * directories, symlinks and hard links to files of the same archive are created; anything that
 * could leave `dest` or write through a link is refused with SLW_INSTALLER_UNSAFE_ENTRY. Symlinks
 * are created as they are (they may point anywhere) but never followed. Permission bits are kept,
 * setuid, setgid, sticky and ownership are not. File content streams to disk chunk by chunk.
 *
 * The source is always read to its end, because a verifying source (an artifact payload) checks
 * its hash there; when the source fails, its error wins over any the archive caused, so bytes that
 * were never verified do not decide the message. A failure leaves a partial `dest` for the caller
 * to delete.
 */
export async function extractTar(source: AsyncIterable<Uint8Array>, dest: string): Promise<ExtractSummary> {
  const stream = new TarStream(source);
  try {
    const extractor = await Extractor.open(dest);
    try {
      await extractor.run(stream);
    } catch (err) {
      // Reading on lets a broken source report itself; if it does, that error is thrown instead.
      await stream.drain();
      throw err;
    }
    await stream.drain();
    await extractor.finish();
    return extractor.summary();
  } finally {
    await stream.close();
  }
}

function unsafe(message: string): SlipwayError {
  return new SlipwayError('SLW_INSTALLER_UNSAFE_ENTRY', message);
}

function notTar(message: string): SlipwayError {
  return new SlipwayError('SLW_INSTALLER_FAILED', `the directory payload is not a valid tar archive: ${message}`);
}

/** Exact-length reads over the payload chunks, which are only valid until the next one is asked for. */
class TarStream {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.ended) return false;
      let next: IteratorResult<Uint8Array>;
      try {
        next = await this.iterator.next();
      } catch (err) {
        this.ended = true;
        throw err;
      }
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.chunk = next.value;
      this.offset = 0;
    }
    return true;
  }

  async readExact(length: number, what: string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      if (!(await this.fill())) throw notTar(`it ends inside ${what}`);
      const take = Math.min(length - filled, this.chunk.length - this.offset);
      out.set(this.chunk.subarray(this.offset, this.offset + take), filled);
      this.offset += take;
      filled += take;
    }
    return out;
  }

  /** Yields exactly `length` bytes as borrowed views. */
  async *range(length: number, what: string): AsyncGenerator<Uint8Array, void, undefined> {
    let left = length;
    while (left > 0) {
      if (!(await this.fill())) throw notTar(`it ends inside ${what}`);
      const take = Math.min(left, this.chunk.length - this.offset);
      const view = this.chunk.subarray(this.offset, this.offset + take);
      this.offset += take;
      left -= take;
      yield view;
    }
  }

  async skip(length: number, what: string): Promise<void> {
    for await (const _ of this.range(length, what)) {
      // skipped
    }
  }

  /** Reads and discards the rest; GNU tar pads its output to a 10 KiB record after the end marker. */
  async drain(): Promise<void> {
    while (await this.fill()) this.offset = this.chunk.length;
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.iterator.return?.();
  }
}

interface Header {
  readonly type: number;
  readonly name: Buffer;
  readonly linkName: Buffer;
  readonly mode: number;
  readonly size: number;
}

const GNU_MAGIC = 'ustar  \0';
const POSIX_MAGIC = 'ustar\x0000';

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

function cString(field: Buffer): Buffer {
  const end = field.indexOf(0);
  return end === -1 ? field : field.subarray(0, end);
}

/** Octal (space or NUL padded) or GNU base-256; an all-NUL field is zero, as GNU tar reads it. */
function parseNumber(field: Buffer, what: string): number {
  const first = field[0] as number;
  if (first & 0x80) {
    if (first !== 0x80) throw notTar(`${what} is negative or out of range`);
    let value = 0n;
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i] as number);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw notTar(`${what} is out of range`);
    return Number(value);
  }
  const text = field
    .toString('latin1')
    .replace(/^[ \0]+/, '')
    .replace(/[ \0]+$/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw notTar(`${what} is not an octal number`);
  const value = Number.parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw notTar(`${what} is out of range`);
  return value;
}

function parseHeader(block: Buffer): Header | null {
  if (isZero(block)) return null;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const stored = parseNumber(block.subarray(148, 156), 'the header checksum');
  // Some old writers summed signed bytes; both sums are accepted, as GNU tar does.
  if (stored !== unsigned && stored !== signed) throw notTar('a header checksum does not match');
  const magic = block.toString('latin1', 257, 265);
  if (magic !== GNU_MAGIC && magic !== POSIX_MAGIC) throw notTar('a header is neither ustar nor GNU tar');
  let name = cString(block.subarray(0, 100));
  // GNU headers keep times in the ustar prefix field, so only POSIX headers have a prefix.
  if (magic === POSIX_MAGIC) {
    const prefix = cString(block.subarray(345, 500));
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  return {
    type: block[156] as number,
    name,
    linkName: cString(block.subarray(157, 257)),
    mode: parseNumber(block.subarray(100, 108), 'the mode'),
    size: parseNumber(block.subarray(124, 136), 'the size'),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Uint8Array, what: string): string {
  if (bytes.length > MAX_TAR_NAME_BYTES) throw unsafe(`${what} is longer than ${MAX_TAR_NAME_BYTES} bytes`);
  if (bytes.includes(0)) throw unsafe(`${what} contains a NUL byte`);
  try {
    return utf8.decode(bytes);
  } catch {
    throw unsafe(`${what} is not UTF-8`);
  }
}

/** GNU 'L'/'K' data is the name plus a terminating NUL; a NUL anywhere else hides a second name. */
function decodeGnuLong(data: Buffer, what: string): string {
  const end = data.indexOf(0);
  if (end !== -1 && !isZero(data.subarray(end))) throw unsafe(`${what} contains a NUL byte`);
  return decodeName(end === -1 ? data : data.subarray(0, end), what);
}

interface PaxOverrides {
  path?: string | undefined;
  linkpath?: string | undefined;
  size?: number | undefined;
}

/** Records are `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(data: Buffer, into: PaxOverrides): void {
  let at = 0;
  while (at < data.length) {
    if (isZero(data.subarray(at))) return;
    const space = data.indexOf(0x20, at);
    const lengthText = space === -1 ? '' : data.toString('latin1', at, space);
    if (!/^[1-9][0-9]{0,7}$/.test(lengthText)) throw notTar('a pax record has no valid length');
    const end = at + Number(lengthText);
    if (end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) throw notTar('a pax record overruns its header');
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw notTar('a pax record has no key');
    const key = record.toString('latin1', 0, eq);
    const value = record.subarray(eq + 1);
    // An empty value cancels the keyword: the ustar field counts again.
    if (key === 'path') into.path = value.length === 0 ? undefined : decodeName(value, 'a pax path');
    else if (key === 'linkpath') into.linkpath = value.length === 0 ? undefined : decodeName(value, 'a pax linkpath');
    else if (key === 'size') {
      const text = value.toString('latin1');
      if (text === '') into.size = undefined;
      else if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw notTar('a pax size is not a number');
      else into.size = Number(text);
    } else if (key.startsWith('GNU.sparse.')) {
      // Sparse data is a map plus fragments; written out as-is it would be the wrong file.
      throw unsafe('the archive holds a sparse file; create it without --sparse');
    }
    at = end;
  }
}

/** Splits an archive name into path components, dropping `.` and empty ones (`./a//b/` is `a/b`). */
function components(name: string, what: string): string[] {
  if (name.startsWith('/')) throw unsafe(`${what} ${JSON.stringify(name)} is an absolute path`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw unsafe(`${what} ${JSON.stringify(name)} has a '..' component`);
  return parts;
}

const TYPE = {
  file: 0x30,
  oldFile: 0x00,
  contiguous: 0x37,
  hardLink: 0x31,
  symlink: 0x32,
  charDevice: 0x33,
  blockDevice: 0x34,
  directory: 0x35,
  fifo: 0x36,
  paxEntry: 0x78,
  paxGlobal: 0x67,
  gnuLongName: 0x4c,
  gnuLongLink: 0x4b,
} as const;

const REFUSED_TYPES: Readonly<Record<number, string>> = {
  [TYPE.charDevice]: 'a character device',
  [TYPE.blockDevice]: 'a block device',
  [TYPE.fifo]: 'a FIFO',
};

const PERMISSIONS = 0o777;
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
// O_EXCL with O_CREAT also fails on a dangling symlink: the open never lands outside.
const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

class Extractor {
  /** Relative paths known to be real directories; directories are never replaced, so this stays true. */
  private readonly dirs = new Set<string>(['']);
  /** Modes of directory entries, applied at the end so a read-only directory can still be filled. */
  private readonly dirModes = new Map<string, number>();
  private files = 0;
  private directories = 0;
  private symlinks = 0;
  private hardLinks = 0;
  private bytes = 0;

  private constructor(private readonly dest: string) {}

  static async open(dest: string): Promise<Extractor> {
    const info = await lstat(dest).catch((err) => {
      throw fileError(err, dest, 'open');
    });
    if (!info.isDirectory()) throw new SlipwayError('SLW_INSTALLER_FAILED', `${dest} is not a directory to extract into`);
    // Empty at the start means whatever is found later was put there by this archive.
    const present = await readdir(dest).catch((err) => {
      throw fileError(err, dest, 'read');
    });
    if (present.length > 0) throw new SlipwayError('SLW_INSTALLER_FAILED', `${dest} is not empty`);
    return new Extractor(dest);
  }

  summary(): ExtractSummary {
    return { files: this.files, directories: this.directories, symlinks: this.symlinks, hardLinks: this.hardLinks, bytes: this.bytes };
  }

  async run(stream: TarStream): Promise<void> {
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: PaxOverrides = {};
    for (;;) {
      const header = parseHeader(await stream.readExact(BLOCK, 'a header (no end-of-archive marker)'));
      if (header === null) return;
      const { type, size } = header;
      if (type === TYPE.gnuLongName || type === TYPE.gnuLongLink) {
        const what = type === TYPE.gnuLongName ? 'a GNU long name' : 'a GNU long link target';
        if (size > MAX_TAR_NAME_BYTES + 1) throw unsafe(`${what} is longer than ${MAX_TAR_NAME_BYTES} bytes`);
        const value = decodeGnuLong(await readData(stream, size, what), what);
        if (type === TYPE.gnuLongName) longName = value;
        else longLink = value;
        continue;
      }
      if (type === TYPE.paxEntry) {
        if (size > MAX_PAX_HEADER_BYTES) throw unsafe(`a pax extended header is larger than ${MAX_PAX_HEADER_BYTES} bytes`);
        parsePax(await readData(stream, size, 'a pax extended header'), pax);
        continue;
      }
      if (type === TYPE.paxGlobal) {
        await stream.skip(size + paddingFor(size), 'a pax global header');
        continue;
      }
      const name = pax.path ?? longName ?? decodeName(header.name, 'an entry name');
      const linkName = pax.linkpath ?? longLink ?? decodeName(header.linkName, `the link target of ${name}`);
      const entrySize = pax.size ?? size;
      longName = undefined;
      longLink = undefined;
      pax = {};
      await this.entry(stream, type, name, linkName, header.mode & PERMISSIONS, entrySize);
      await stream.skip(paddingFor(entrySize), `the padding of ${name}`);
    }
  }

  private async entry(stream: TarStream, type: number, name: string, linkName: string, mode: number, size: number): Promise<void> {
    const refused = REFUSED_TYPES[type];
    if (refused !== undefined) throw unsafe(`entry ${JSON.stringify(name)} is ${refused}`);
    const parts = components(name, 'entry');
    const rel = parts.join('/');
    switch (type) {
      case TYPE.file:
      case TYPE.oldFile:
      case TYPE.contiguous:
        await this.file(stream, parts, rel, mode, size);
        return;
      case TYPE.directory:
        if (parts.length > 0) {
          await this.place(parts, rel, 'directory');
          await mkdir(join(this.dest, rel)).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw fileError(err, join(this.dest, rel), 'write');
          });
          this.dirs.add(rel);
          this.directories++;
        }
        this.dirModes.set(rel, mode);
        break;
      case TYPE.symlink:
        if (linkName === '') throw unsafe(`symlink ${JSON.stringify(name)} has an empty target`);
        await this.place(parts, rel, 'symlink');
        await io(join(this.dest, rel), symlink(linkName, join(this.dest, rel)));
        this.symlinks++;
        break;
      case TYPE.hardLink:
        await this.hardLink(parts, rel, linkName);
        break;
      default:
        throw unsafe(`entry ${JSON.stringify(name)} has the unsupported type ${JSON.stringify(String.fromCharCode(type))}`);
    }
    // Links and directories carry no data in GNU tar, but a header may still announce some.
    await stream.skip(size, `the data of ${name}`);
  }

  private async file(stream: TarStream, parts: readonly string[], rel: string, mode: number, size: number): Promise<void> {
    await this.place(parts, rel, 'file');
    const path = join(this.dest, rel);
    let handle: FileHandle;
    try {
      handle = await open(path, NEW_FILE_FLAGS, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(`entry ${JSON.stringify(rel)} would be written through a symlink`);
      throw fileError(err, path, 'write');
    }
    try {
      let position = 0;
      for await (const view of stream.range(size, `the data of ${rel}`)) {
        let done = 0;
        while (done < view.length) {
          const { bytesWritten } = await io(path, handle.write(view, done, view.length - done, position + done));
          done += bytesWritten;
        }
        position += view.length;
        this.bytes += view.length;
      }
      // The mode given to open() went through the umask; this one does not.
      await io(path, handle.chmod(mode));
      await io(path, handle.sync());
    } finally {
      await handle.close();
    }
    this.files++;
  }

  private async hardLink(parts: readonly string[], rel: string, linkName: string): Promise<void> {
    const targetParts = components(linkName, `the hard link target of ${JSON.stringify(rel)}`);
    const target = targetParts.join('/');
    const refuse = () => unsafe(`hard link ${JSON.stringify(rel)} does not link to a file extracted earlier from this archive`);
    if (targetParts.length === 0 || target === rel) throw refuse();
    for (let i = 1; i < targetParts.length; i++) {
      const dir = targetParts.slice(0, i).join('/');
      if (this.dirs.has(dir)) continue;
      const info = await lstatOrNull(join(this.dest, dir));
      if (!info?.isDirectory()) throw refuse();
      this.dirs.add(dir);
    }
    const info = await lstatOrNull(join(this.dest, target));
    if (!info?.isFile()) throw refuse();
    await this.place(parts, rel, 'hard link');
    // link() does not follow a symlink at the target, and the target was just seen to be a file.
    await io(join(this.dest, rel), link(join(this.dest, target), join(this.dest, rel)));
    this.hardLinks++;
  }

  /**
   * Makes the parents of an entry (real directories only, never through a symlink) and clears
   * its own path: an earlier file may be replaced, a symlink or a directory may not.
   */
  private async place(parts: readonly string[], rel: string, kind: 'file' | 'directory' | 'symlink' | 'hard link'): Promise<void> {
    if (parts.length === 0) throw unsafe(`a ${kind} entry names the extraction root`);
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.dirs.has(dir)) continue;
      const path = join(this.dest, dir);
      const info = await lstatOrNull(path);
      if (info === null) {
        await io(path, mkdir(path, 0o755));
      } else if (info.isSymbolicLink()) {
        throw unsafe(`entry ${JSON.stringify(rel)} would be written through the symlink ${JSON.stringify(dir)}`);
      } else if (!info.isDirectory()) {
        throw unsafe(`entry ${JSON.stringify(rel)} would be written below the file ${JSON.stringify(dir)}`);
      }
      this.dirs.add(dir);
    }
    const path = join(this.dest, rel);
    const existing = await lstatOrNull(path);
    if (existing === null) return;
    if (existing.isSymbolicLink()) throw unsafe(`${kind} entry ${JSON.stringify(rel)} would replace a symlink`);
    if (existing.isDirectory()) {
      if (kind === 'directory') return;
      throw unsafe(`${kind} entry ${JSON.stringify(rel)} would replace a directory`);
    }
    if (kind === 'directory' || !existing.isFile())
      throw unsafe(`${kind} entry ${JSON.stringify(rel)} would replace a ${existing.isFile() ? 'file' : 'special file'}`);
    await io(path, unlink(path));
  }

  /** Applies directory modes and fsyncs every directory, which makes every entry in them durable. */
  async finish(): Promise<void> {
    for (const rel of this.dirs) {
      const path = rel === '' ? this.dest : join(this.dest, rel);
      const handle = await io(path, open(path, DIRECTORY_FLAGS));
      try {
        const mode = this.dirModes.get(rel) ?? (rel === '' ? undefined : 0o755);
        if (mode !== undefined) await io(path, handle.chmod(mode));
        await io(path, handle.sync());
      } finally {
        await handle.close();
      }
    }
  }
}

async function readData(stream: TarStream, size: number, what: string): Promise<Buffer> {
  const data = await stream.readExact(size, what);
  await stream.skip(paddingFor(size), `the padding of ${what}`);
  return data;
}

/** Maps a file-system failure onto a coded error; only for fs calls, so a source's own error passes unchanged. */
function io<T>(path: string, operation: Promise<T>): Promise<T> {
  return operation.catch((err: unknown) => {
    throw fileError(err, path, 'write');
  });
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileError(err, path, 'read');
  }
}

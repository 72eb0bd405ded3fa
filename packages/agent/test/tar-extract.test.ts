import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '@slipway/core';
import { extractTar, MAX_PAX_HEADER_BYTES } from '../src/installers/tar-extract.js';

const BLOCK = 512;
const LONG_PATH = `lib/${'x'.repeat(80)}/${'y'.repeat(90)}.txt`;

interface HeaderFields {
  name: string;
  type?: string;
  size?: number;
  mode?: number;
  linkname?: string;
  uid?: number;
  prefix?: string;
}

/** A POSIX ustar header written byte by byte, so a test can say things GNU tar never would. */
function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  const octal = (offset: number, width: number, value: number) =>
    block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
  Buffer.from(fields.name, 'utf8').copy(block, 0, 0, 100);
  octal(100, 8, fields.mode ?? 0o644);
  octal(108, 8, fields.uid ?? 0);
  octal(116, 8, fields.uid ?? 0);
  octal(124, 12, fields.size ?? 0);
  octal(136, 12, 1_700_000_000);
  block.write(fields.type ?? '0', 156, 1, 'latin1');
  Buffer.from(fields.linkname ?? '', 'utf8').copy(block, 157, 0, 100);
  block.write('ustar\x0000', 257, 8, 'latin1');
  Buffer.from(fields.prefix ?? '', 'utf8').copy(block, 345, 0, 155);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

function entry(fields: HeaderFields, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([header({ ...fields, size: fields.size ?? bytes.length }), padded(bytes)]);
}

function paxEntry(records: Record<string, string | Buffer>): Buffer {
  const body = Buffer.concat(
    Object.entries(records).map(([key, value]) => {
      const payload = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
      // The length counts its own digits: grow it until it is consistent.
      let length = payload.length + 1;
      while (String(length).length + payload.length !== length) length++;
      return Buffer.concat([Buffer.from(String(length)), payload]);
    }),
  );
  return entry({ name: 'PaxHeaders/x', type: 'x' }, body);
}

function archive(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(2 * BLOCK)]);
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe('the streaming tar extractor', () => {
  let dir: string;
  let n = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-tar-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** A fresh empty `dest` and, beside it, an `outside` directory that an attack would reach. */
  const place = async () => {
    const base = join(dir, `case-${++n}`);
    const dest = join(base, 'dest');
    const outside = join(base, 'outside');
    await mkdir(dest, { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'untouched');
    return { base, dest, outside };
  };

  const extract = async (bytes: Uint8Array, chunkSize = 4093) => {
    const where = await place();
    const summary = await extractTar(chunks(bytes, chunkSize), where.dest);
    return { ...where, summary };
  };

  /** Extraction is refused, and nothing appeared outside dest. */
  const refuses = async (bytes: Uint8Array, message?: RegExp) => {
    const { base, dest, outside } = await place();
    await assert.rejects(extractTar(chunks(bytes, 1000), dest), (err: SlipwayError) => {
      assert.equal(err.code, 'SLW_INSTALLER_UNSAFE_ENTRY', err.message);
      if (message) assert.match(err.message, message);
      return true;
    });
    assert.deepEqual((await readdir(outside)).sort(), ['secret']);
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'untouched');
    assert.deepEqual((await readdir(base)).sort(), ['dest', 'outside']);
    return { dest, outside };
  };

  const sourceTree = async (options: { longLink: boolean }) => {
    const src = join(dir, `src-${++n}`);
    await mkdir(join(src, 'bin'), { recursive: true });
    await mkdir(join(src, 'etc'));
    await mkdir(join(src, 'var/empty'), { recursive: true });
    await mkdir(join(src, 'lib', 'x'.repeat(80)), { recursive: true });
    await writeFile(join(src, 'bin/run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(src, 'bin/run.sh'), 0o755);
    await link(join(src, 'bin/run.sh'), join(src, 'bin/run-again.sh'));
    await writeFile(join(src, 'bin/suid'), 'x');
    await chmod(join(src, 'bin/suid'), 0o4755);
    await writeFile(join(src, 'etc/app.conf'), 'port=80\n');
    await chmod(join(src, 'etc/app.conf'), 0o640);
    await chmod(join(src, 'var/empty'), 0o700);
    await writeFile(join(src, LONG_PATH), 'deep');
    const blob = randomBytes(300 * 1024 + 7);
    await writeFile(join(src, 'blob.bin'), blob);
    await symlink('etc/app.conf', join(src, 'conf'));
    await symlink('/etc/hostname', join(src, 'hostname'));
    if (options.longLink) await symlink(LONG_PATH, join(src, 'deep-link'));
    return { src, blob };
  };

  const tarOf = async (src: string, format?: 'pax' | 'ustar') => {
    const out = join(dir, `archive-${++n}.tar`);
    execFileSync('tar', ['-C', src, ...(format ? [`--format=${format}`] : []), '-cf', out, '.']);
    return readFile(out);
  };

  const checkTree = async (dest: string, blob: Buffer, options: { longLink: boolean }) => {
    const mode = async (path: string) => (await lstat(join(dest, path))).mode & 0o7777;
    assert.equal(await readFile(join(dest, 'bin/run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(await mode('bin/run.sh'), 0o755);
    assert.equal(await readFile(join(dest, 'bin/run-again.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal((await stat(join(dest, 'bin/run-again.sh'))).ino, (await stat(join(dest, 'bin/run.sh'))).ino);
    assert.equal(await mode('bin/suid'), 0o755, 'setuid is dropped');
    assert.equal(await mode('etc/app.conf'), 0o640);
    assert.equal(await mode('var/empty'), 0o700);
    assert.equal(await readFile(join(dest, LONG_PATH), 'utf8'), 'deep');
    assert.ok((await readFile(join(dest, 'blob.bin'))).equals(blob));
    assert.equal(await readlink(join(dest, 'conf')), 'etc/app.conf');
    assert.equal(await readlink(join(dest, 'hostname')), '/etc/hostname', 'a link may point anywhere; it is not followed');
    if (options.longLink) assert.equal(await readlink(join(dest, 'deep-link')), LONG_PATH);
  };

  test('extracts what GNU tar writes by default: subdirectories, a 150+ byte name, symlinks, a hard link and modes', async () => {
    const { src, blob } = await sourceTree({ longLink: true });
    const { dest, summary } = await extract(await tarOf(src));
    await checkTree(dest, blob, { longLink: true });
    assert.equal(summary.hardLinks, 1);
    assert.equal(summary.symlinks, 3);
    // run.sh, suid, app.conf, the long-named file and the blob; the hard link adds no bytes.
    assert.equal(summary.bytes, 18 + 1 + 8 + 4 + blob.length);
  });

  test('extracts a pax archive, whose long names and link targets come in extended headers', async () => {
    const { src, blob } = await sourceTree({ longLink: true });
    const { dest } = await extract(await tarOf(src, 'pax'), 13);
    await checkTree(dest, blob, { longLink: true });
  });

  test('extracts a ustar archive, whose long names are split into prefix and name', async () => {
    const { src, blob } = await sourceTree({ longLink: false });
    const { dest } = await extract(await tarOf(src, 'ustar'), 1 << 16);
    await checkTree(dest, blob, { longLink: false });
  });

  test('streams file content to disk: a large file does not grow memory', async () => {
    const { dest } = await place();
    const piece = randomBytes(1024 * 1024);
    const pieces = 96;
    let peak = 0;
    const usage = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const baseline = usage();
    async function* source() {
      yield header({ name: 'big.bin', size: pieces * piece.length });
      for (let i = 0; i < pieces; i++) {
        peak = Math.max(peak, usage() - baseline);
        yield piece;
      }
      yield Buffer.alloc(2 * BLOCK);
    }
    const summary = await extractTar(source(), dest);
    assert.equal(summary.bytes, pieces * piece.length);
    assert.equal((await stat(join(dest, 'big.bin'))).size, pieces * piece.length);
    assert.ok(peak < 32 * 1024 * 1024, `memory grew by ${peak} bytes`);
  });

  test('keeps permission bits but drops setuid, setgid and sticky, and never takes the archive owner', async () => {
    const { dest } = await extract(
      archive(
        entry({ name: 'tool', mode: 0o6755, uid: 4321 }, 'x'),
        entry({ name: 'shared/', type: '5', mode: 0o1777, uid: 4321 }),
        entry({ name: 'shared/file', mode: 0o600, uid: 4321 }, 'y'),
      ),
    );
    const tool = await stat(join(dest, 'tool'));
    assert.equal(tool.mode & 0o7777, 0o755);
    assert.equal(tool.uid, process.getuid?.());
    assert.equal((await stat(join(dest, 'shared'))).mode & 0o7777, 0o777);
    assert.equal((await stat(join(dest, 'shared/file'))).mode & 0o7777, 0o600);
  });

  test('reads names from a GNU long-name record and a pax path, and ignores pax global headers', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const { dest } = await extract(
      archive(
        entry({ name: 'pax_global_header', type: 'g' }, '30 comment=ignored by readers\n'),
        entry({ name: '././@LongLink', type: 'L' }, `${long}\0`),
        entry({ name: long.slice(0, 100) }, 'gnu'),
        paxEntry({ path: 'pax/named.txt', mtime: '1700000000.5' }),
        entry({ name: 'truncated-name' }, 'pax'),
        entry({ name: './plain.txt' }, 'plain'),
      ),
    );
    assert.equal(await readFile(join(dest, long), 'utf8'), 'gnu');
    assert.equal(await readFile(join(dest, 'pax/named.txt'), 'utf8'), 'pax');
    assert.equal(await readFile(join(dest, 'plain.txt'), 'utf8'), 'plain');
    assert.deepEqual((await readdir(dest)).sort(), ['d'.repeat(120), 'pax', 'plain.txt']);
  });

  test('stops a ../ path that would escape the release directory', async () => {
    await refuses(archive(entry({ name: '../escape' }, 'pwned')), /'\.\.'/);
    await refuses(archive(entry({ name: './a/../../escape' }, 'pwned')), /'\.\.'/);
    await refuses(archive(paxEntry({ path: 'ok/../../escape' }), entry({ name: 'ok' }, 'pwned')));
  });

  test('stops an absolute path', async () => {
    const { outside } = await place();
    await refuses(archive(entry({ name: join(outside, 'abs') }, 'pwned')), /absolute/);
    await assert.rejects(lstat(join(outside, 'abs')));
  });

  test('stops a file written through a symlink the archive created earlier', async () => {
    const { outside } = await place();
    await refuses(
      archive(entry({ name: 'lib', type: '2', linkname: outside }), entry({ name: 'lib/pwned' }, 'pwned')),
      /through the symlink/,
    );
    await refuses(archive(entry({ name: 'lib', type: '2', linkname: outside }), entry({ name: 'lib/', type: '5' })));
    const long = `lib/${'z'.repeat(150)}`;
    await refuses(
      archive(
        entry({ name: 'lib', type: '2', linkname: outside }),
        entry({ name: '././@LongLink', type: 'L' }, `${long}\0`),
        entry({ name: 'x' }, 'pwned'),
      ),
      /through the symlink/,
    );
    assert.deepEqual(await readdir(outside), ['secret']);
  });

  test('stops a file entry that would replace a symlink the archive created', async () => {
    const { outside } = await place();
    const { dest } = await refuses(
      archive(entry({ name: 'conf', type: '2', linkname: join(outside, 'secret') }), entry({ name: 'conf' }, 'pwned')),
      /replace a symlink/,
    );
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'untouched');
    assert.equal(await readlink(join(dest, 'conf')), join(outside, 'secret'));
  });

  test('stops a hard link to anything but a file extracted earlier from the same archive', async () => {
    const { outside } = await place();
    await refuses(archive(entry({ name: 'h', type: '1', linkname: join(outside, 'secret') })), /absolute/);
    await refuses(archive(entry({ name: 'h', type: '1', linkname: '../outside/secret' })), /'\.\.'/);
    await refuses(archive(entry({ name: 'h', type: '1', linkname: 'later' }), entry({ name: 'later' }, 'x')), /extracted earlier/);
    await refuses(
      archive(entry({ name: 's', type: '2', linkname: join(outside, 'secret') }), entry({ name: 'h', type: '1', linkname: 's' })),
    );
    await refuses(archive(entry({ name: 'd', type: '2', linkname: outside }), entry({ name: 'h', type: '1', linkname: 'd/secret' })));
  });

  test('stops device nodes, FIFOs and entry types it does not know', async () => {
    await refuses(archive(entry({ name: 'tty', type: '3' })), /character device/);
    await refuses(archive(entry({ name: 'sda', type: '4' })), /block device/);
    await refuses(archive(entry({ name: 'pipe', type: '6' })), /FIFO/);
    await refuses(archive(entry({ name: 'sparse', type: 'S' })), /unsupported type/);
    await refuses(archive(entry({ name: 'label', type: 'V' })), /unsupported type/);
    await refuses(archive(paxEntry({ 'GNU.sparse.major': '1' }), entry({ name: 'sparse' })), /sparse/);
  });

  test('stops a NUL byte hidden in a long name or a pax path', async () => {
    await refuses(archive(entry({ name: '././@LongLink', type: 'L' }, 'safe\0../../escape\0'), entry({ name: 'x' }, 'pwned')), /NUL/);
    await refuses(archive(paxEntry({ path: Buffer.from('a\0b') }), entry({ name: 'x' }, 'pwned')), /NUL/);
  });

  test('refuses names over 4096 bytes and pax headers over 1 MiB without reading them into memory', async () => {
    await refuses(archive(entry({ name: '././@LongLink', type: 'L' }, `${'n'.repeat(5000)}\0`), entry({ name: 'x' })), /4096/);
    await refuses(archive(paxEntry({ path: 'p'.repeat(4097) }), entry({ name: 'x' })), /4096/);
    const huge = MAX_PAX_HEADER_BYTES + 1;
    await refuses(Buffer.concat([header({ name: 'PaxHeaders/x', type: 'x', size: huge }), Buffer.alloc(huge + 2 * BLOCK + BLOCK)]), /pax/);
  });

  test('stops a directory entry that would replace a file, and any entry naming the root itself', async () => {
    await refuses(archive(entry({ name: 'a' }, 'x'), entry({ name: 'a/', type: '5' })), /replace a file/);
    await refuses(archive(entry({ name: './' }, 'x')), /extraction root/);
  });

  test('a source that fails part-way stops the extraction with its own error', async () => {
    const { dest } = await place();
    const bytes = archive(entry({ name: 'a' }, randomBytes(10_000)), entry({ name: 'b' }, 'b'));
    const broken = new Error('payload app.tar does not match its signed sha256');
    async function* source() {
      yield bytes.subarray(0, 5000);
      throw broken;
    }
    await assert.rejects(extractTar(source(), dest), (err) => err === broken);
  });

  test('when the archive is broken and the source fails at its end, the source error is the one reported', async () => {
    const { dest } = await place();
    const garbage = Buffer.concat([randomBytes(BLOCK), Buffer.alloc(4 * BLOCK)]);
    const broken = new Error('hash mismatch');
    async function* source() {
      yield* chunks(garbage, 100);
      throw broken;
    }
    await assert.rejects(extractTar(source(), dest), (err) => err === broken);
    const second = await place();
    await assert.rejects(extractTar(chunks(garbage, 100), second.dest), (err: SlipwayError) => err.code === 'SLW_INSTALLER_FAILED');
  });

  test('an archive cut off before its end-of-archive marker fails', async () => {
    const { dest } = await place();
    await assert.rejects(
      extractTar(chunks(entry({ name: 'a' }, 'x'), 100), dest),
      (err: SlipwayError) => err.code === 'SLW_INSTALLER_FAILED' && /end/.test(err.message),
    );
  });

  test('extracts only into an empty directory', async () => {
    const { dest } = await place();
    await writeFile(join(dest, 'left-over'), 'x');
    await assert.rejects(
      extractTar(chunks(archive(entry({ name: 'a' }, 'x')), 100), dest),
      (err: SlipwayError) => err.code === 'SLW_INSTALLER_FAILED',
    );
  });
});

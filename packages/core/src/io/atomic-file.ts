import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError } from '../errors/slipway-error.js';

/** A sibling temp path: same directory, so the final rename is atomic on one file system. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.partial-${randomBytes(6).toString('hex')}`);
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Moves a finished temp file into place so a crash leaves either the old file or the new one. */
export async function commitTempFile(tempPath: string, path: string): Promise<void> {
  try {
    await rename(tempPath, path);
    await fsyncDirectory(dirname(path));
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw fileError(err, path, 'write');
  }
}

export interface AtomicWriteOptions {
  /** File mode at creation (the file is never readable by others, even for an instant). */
  readonly mode?: number;
  /** Refuse to replace an existing file. */
  readonly exclusive?: boolean;
}

/** Writes a whole file atomically: temp file, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  if (options.exclusive) await assertAbsent(path);
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw fileError(err, path, 'write');
  }
  await commitTempFile(temp, path);
}

export async function assertAbsent(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    await handle.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fileError(err, path, 'open');
  }
  throw fileError(Object.assign(new Error('exists'), { code: 'EEXIST' }), path, 'write');
}

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileError, SlipwayError } from '@slipway/core';
import { writeFileAtomic } from '../state/atomic-file.js';

/** AES-256: the key is 32 bytes. */
export const LOG_KEY_BYTES = 32;

/**
 * Where the deployment-log key comes from. Today a 0600 file (`LogKey`); later a key derived from
 * a hardware-held secret (TPM, secure element) can implement the same interface.
 */
export interface LogKeySource {
  key(): Promise<Buffer>;
}

/**
 * The deployment-log key in a file of exactly 32 raw bytes (`head -c 32 /dev/urandom`), mode 0600.
 * Created with a random key when absent; refused when group or others may read it.
 */
export class LogKey implements LogKeySource {
  private loading: Promise<Buffer> | undefined;

  constructor(private readonly path: string) {}

  key(): Promise<Buffer> {
    // One load per instance, shared by concurrent callers; a failure is not cached so a chmod can fix it.
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<Buffer> {
    const existing = await this.readExisting();
    if (existing) return existing;
    const key = randomBytes(LOG_KEY_BYTES);
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path, key, 0o600);
    } catch (err) {
      throw fileError(err, this.path, 'write');
    }
    return key;
  }

  /** The key on disk, or undefined when there is no key file yet. */
  private async readExisting(): Promise<Buffer | undefined> {
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted in the state directory must not redirect us to another file.
      handle = await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fileError(err, this.path, 'read');
    }
    try {
      // fstat the open file, not the path: the mode checked is the mode of the bytes read.
      const stats = await handle.stat();
      if (!stats.isFile()) throw new SlipwayError('SLW_IO_NOT_A_FILE', `the log key ${this.path} is not a regular file`);
      if ((stats.mode & 0o077) !== 0)
        throw new SlipwayError(
          'SLW_KEY_PERMISSIONS',
          `the log key ${this.path} is readable by others (mode ${(stats.mode & 0o777).toString(8)}); run chmod 600 ${this.path}`,
        );
      if (stats.size !== LOG_KEY_BYTES)
        throw new SlipwayError('SLW_KEY_INVALID', `the log key ${this.path} must hold exactly ${LOG_KEY_BYTES} bytes, not ${stats.size}`);
      const key = Buffer.alloc(LOG_KEY_BYTES);
      const { bytesRead } = await handle.read(key, 0, LOG_KEY_BYTES, 0);
      if (bytesRead !== LOG_KEY_BYTES)
        throw new SlipwayError('SLW_KEY_INVALID', `the log key ${this.path} must hold exactly ${LOG_KEY_BYTES} bytes`);
      return key;
    } catch (err) {
      throw fileError(err, this.path, 'read');
    } finally {
      await handle.close();
    }
  }
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ErrorCode, fileError, SlipwayError } from '@slipway/core';
import { syncDirectory } from '../state/atomic-file.js';
import { LOG_KEY_BYTES, type LogKeySource } from './log-key.js';

/** The code thrown when a log record does not decrypt and authenticate (altered, reordered, moved from another log, or written with another key). */
export const LOG_CORRUPT: ErrorCode = 'SLW_LOG_CORRUPT';

/** The server's upload limit for one log (MAX_LOG_BYTES on the server). */
export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;

const LENGTH_BYTES = 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** What each record adds to its plaintext on disk. */
export const LOG_RECORD_OVERHEAD = LENGTH_BYTES + NONCE_BYTES + TAG_BYTES;

/** Versions the format through the associated data: a future v2 record never authenticates as v1. */
const AAD_PREFIX = Buffer.from('slipway-deployment-log-v1\0', 'latin1');
const DEPLOYMENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const LOG_NAME = /^([A-Za-z0-9_-]{1,128})\.([1-9][0-9]{0,8})\.log$/;
const READ_CHUNK_BYTES = 64 * 1024;

/** The one line written when a log is full; every line after it was dropped. */
export const LOG_FULL_MARKER = '[slipway-agent] this log reached its size limit; later lines were dropped\n';

export interface DeploymentLogOptions {
  /** Plaintext bytes one log may hold, the marker included. */
  readonly maxBytes?: number;
}

/** A log found on disk, e.g. still waiting for upload after a restart. */
export interface StoredLog {
  readonly deploymentId: string;
  readonly attempt: number;
  readonly path: string;
}

/** What appending needs to know about the file: found by scanning it once, then kept up to date. */
interface Writer {
  readonly handle: FileHandle;
  readonly key: Buffer;
  /** End of the last complete record: where the next one goes. */
  end: number;
  /** Index of the next record. */
  index: number;
  plaintextBytes: number;
  /** The cap was reached and the marker written: every later line is dropped. */
  full: boolean;
}

interface ScannedRecord {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * The log of one deployment attempt, encrypted at rest, in `<dir>/<deploymentId>.<attempt>.log`,
 * kept until the server acknowledges the upload.
 *
 * Format: a sequence of records, each `[u32 BE plaintext length][12-byte random nonce]
 * [ciphertext][16-byte GCM tag]`, sealed with AES-256-GCM under associated data
 * `"slipway-deployment-log-v1\0" || u16 BE id length || deployment id || u32 BE attempt ||
 * u32 BE record index`, so a record cannot be altered, reordered, dropped from the middle or moved
 * to another log without failing authentication. Each append is fsynced: a power cut loses at
 * most the record being written, and that torn last record is ignored on read and cut off before
 * the next append. Dropping whole records from the end looks exactly like such a power cut and
 * cannot be detected.
 *
 * One instance per file: appends, reads and delete are serialised within it, not across processes.
 */
export class DeploymentLog {
  readonly path: string;
  private readonly maxBytes: number;
  /** Bounds the disk used by many tiny records too (each costs 32 bytes of overhead). */
  private readonly maxFileBytes: number;
  private readonly marker: Buffer;
  private writer: Writer | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    readonly deploymentId: string,
    readonly attempt: number,
    private readonly keys: LogKeySource,
    options: DeploymentLogOptions = {},
  ) {
    this.path = DeploymentLog.pathFor(dir, deploymentId, attempt);
    this.marker = Buffer.from(LOG_FULL_MARKER, 'utf8');
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_LOG_BYTES;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < this.marker.length || this.maxBytes > 0xffffffff)
      throw new RangeError(`maxBytes must be an integer from ${this.marker.length} to ${0xffffffff}`);
    this.maxFileBytes = 2 * this.maxBytes + 2 * LOG_RECORD_OVERHEAD;
  }

  /** Where the log of this deployment attempt lives. */
  static pathFor(dir: string, deploymentId: string, attempt: number): string {
    if (!DEPLOYMENT_ID.test(deploymentId))
      throw new SlipwayError('SLW_DEPLOYMENT_INVALID', `the deployment id ${JSON.stringify(deploymentId)} cannot name a log file`);
    if (!Number.isSafeInteger(attempt) || attempt < 1 || attempt > 999_999_999)
      throw new SlipwayError('SLW_DEPLOYMENT_INVALID', `the attempt ${attempt} is not a positive integer`);
    return join(dir, `${deploymentId}.${attempt}.log`);
  }

  /** The logs in `dir`, sorted by file name; none when the directory is absent. */
  static async list(dir: string): Promise<StoredLog[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fileError(err, dir, 'read');
    }
    const logs: StoredLog[] = [];
    for (const name of names.sort()) {
      const match = LOG_NAME.exec(name);
      if (match?.[1] !== undefined && match[2] !== undefined)
        logs.push({ deploymentId: match[1], attempt: Number(match[2]), path: join(dir, name) });
    }
    return logs;
  }

  /**
   * Appends text as one record (a newline is added when it lacks one). Past the cap the text is
   * dropped, and the first time that happens a marker line says so.
   */
  append(text: string): Promise<void> {
    return this.serial(async () => {
      const writer = this.writer ?? (await this.openWriter());
      if (writer.full) return;
      const line = text.endsWith('\n') ? text : `${text}\n`;
      // Measured before encoding, so an oversized line is dropped without being copied.
      const bytes = Buffer.byteLength(line, 'utf8');
      // Room is always kept for the marker, so the log never exceeds the cap once it is written.
      const reserve = this.marker.length;
      const fits =
        writer.plaintextBytes + bytes + reserve <= this.maxBytes &&
        writer.end + bytes + reserve + 2 * LOG_RECORD_OVERHEAD <= this.maxFileBytes;
      if (fits) {
        await this.writeRecord(writer, Buffer.from(line, 'utf8'));
      } else {
        await this.writeRecord(writer, this.marker);
        writer.full = true;
      }
    });
  }

  /** The whole log, decrypted; a torn last record is left out. Throws LOG_CORRUPT on any record that does not authenticate. */
  read(): Promise<string> {
    return this.serial(async () => {
      const key = await this.key();
      let handle: FileHandle;
      try {
        handle = await open(this.path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw fileError(err, this.path, 'read');
      }
      try {
        const size = (await handle.stat()).size;
        const reader = new ChunkReader(handle, size);
        const parts: Buffer[] = [];
        await this.scan(reader, size, async (record) => {
          parts.push(this.open(key, record, await reader.bytes(record.offset, LOG_RECORD_OVERHEAD + record.length)));
        });
        return Buffer.concat(parts).toString('utf8');
      } catch (err) {
        throw fileError(err, this.path, 'read');
      } finally {
        await handle.close();
      }
    });
  }

  /** Removes the log for good (after the server acknowledged it); absent is fine. */
  delete(): Promise<void> {
    return this.serial(async () => {
      await this.closeWriter();
      try {
        await unlink(this.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw fileError(err, this.path, 'write');
      }
      await syncDirectory(this.dir);
    });
  }

  /** Releases the open file; a later append opens it again. */
  close(): Promise<void> {
    return this.serial(() => this.closeWriter());
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async key(): Promise<Buffer> {
    const key = await this.keys.key();
    if (key.length !== LOG_KEY_BYTES)
      throw new SlipwayError('SLW_KEY_INVALID', `the log key must be ${LOG_KEY_BYTES} bytes, not ${key.length}`);
    return key;
  }

  /** Opens (or creates) the file, finds where the next record goes and cuts off a torn last record. */
  private async openWriter(): Promise<Writer> {
    const key = await this.key();
    let handle: FileHandle;
    try {
      handle = await this.openOrCreate();
    } catch (err) {
      throw fileError(err, this.path, 'open');
    }
    try {
      const size = (await handle.stat()).size;
      const reader = new ChunkReader(handle, size);
      let last = undefined as ScannedRecord | undefined;
      let plaintextBytes = 0;
      const end = await this.scan(reader, size, async (record) => {
        last = record;
        plaintextBytes += record.length;
      });
      if (end < size) {
        await handle.truncate(end);
        await handle.datasync();
      }
      // Only the marker has the marker's length and text: decrypt just that record to know whether the log is full.
      const full =
        last !== undefined &&
        last.length === this.marker.length &&
        this.open(key, last, await reader.bytes(last.offset, LOG_RECORD_OVERHEAD + last.length)).equals(this.marker);
      this.writer = { handle, key, end, index: last === undefined ? 0 : last.index + 1, plaintextBytes, full };
      return this.writer;
    } catch (err) {
      await handle.close();
      throw fileError(err, this.path, 'open');
    }
  }

  private async openOrCreate(): Promise<FileHandle> {
    try {
      return await open(this.path, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const created = await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await syncDirectory(dirname(created));
    const handle = await open(this.path, 'wx+', 0o600);
    // The new name must survive a power cut too, or its fsynced records vanish with it.
    await syncDirectory(this.dir);
    return handle;
  }

  private async closeWriter(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    await writer?.handle.close();
  }

  private async writeRecord(writer: Writer, plaintext: Buffer): Promise<void> {
    const record = seal(writer.key, this.associatedData(writer.index), plaintext);
    try {
      let written = 0;
      while (written < record.length) {
        const { bytesWritten } = await writer.handle.write(record, written, record.length - written, writer.end + written);
        written += bytesWritten;
      }
      await writer.handle.datasync();
    } catch (err) {
      // Drop the handle: the next append scans the file again and cuts off whatever part was written.
      this.writer = undefined;
      await writer.handle.close().catch(() => undefined);
      throw fileError(err, this.path, 'write');
    }
    writer.end += record.length;
    writer.index += 1;
    writer.plaintextBytes += plaintext.length;
  }

  /**
   * Walks the complete records and returns the end of the last one. A record that runs past the
   * end of the file is the torn last write of a power cut; a length no writer would produce is
   * corruption, not a torn write.
   */
  private async scan(reader: ChunkReader, size: number, visit: (record: ScannedRecord) => Promise<void>): Promise<number> {
    let offset = 0;
    for (let index = 0; size - offset >= LENGTH_BYTES; index++) {
      const length = (await reader.bytes(offset, LENGTH_BYTES)).readUInt32BE(0);
      if (length > this.maxBytes) throw this.corrupt(index, `its length ${length} is above the limit of ${this.maxBytes}`);
      if (size - offset < LOG_RECORD_OVERHEAD + length) break;
      await visit({ index, offset, length });
      offset += LOG_RECORD_OVERHEAD + length;
    }
    return offset;
  }

  /** Decrypts and authenticates one record (`bytes` is the whole record, length prefix included). */
  private open(key: Buffer, record: ScannedRecord, bytes: Buffer): Buffer {
    const nonce = bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + NONCE_BYTES);
    const ciphertext = bytes.subarray(LENGTH_BYTES + NONCE_BYTES, LENGTH_BYTES + NONCE_BYTES + record.length);
    const tag = bytes.subarray(LENGTH_BYTES + NONCE_BYTES + record.length);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(this.associatedData(record.index));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (err) {
      throw this.corrupt(
        record.index,
        'it does not authenticate: the log was altered, reordered or moved, or is read with another key',
        err,
      );
    }
  }

  private associatedData(index: number): Buffer {
    const id = Buffer.from(this.deploymentId, 'utf8');
    const aad = Buffer.alloc(AAD_PREFIX.length + 2 + id.length + 4 + 4);
    let at = AAD_PREFIX.copy(aad, 0);
    at = aad.writeUInt16BE(id.length, at);
    at += id.copy(aad, at);
    at = aad.writeUInt32BE(this.attempt, at);
    aad.writeUInt32BE(index, at);
    return aad;
  }

  private corrupt(index: number, why: string, cause?: unknown): SlipwayError {
    return new SlipwayError(LOG_CORRUPT, `record ${index} of the deployment log ${this.path} is corrupt: ${why}`, {
      cause,
      details: { log: this.path, record: index },
    });
  }
}

function seal(key: Buffer, associatedData: Buffer, plaintext: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(plaintext.length, 0);
  return Buffer.concat([length, nonce, ciphertext, cipher.getAuthTag()]);
}

/** Positional reads through a small window: memory stays bounded by the largest record, not the file. */
class ChunkReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  /** Exactly `length` bytes at `offset`; valid until the next call. */
  async bytes(offset: number, length: number): Promise<Buffer> {
    const from = offset - this.windowStart;
    if (from >= 0 && from + length <= this.window.length) return this.window.subarray(from, from + length);
    const want = Math.min(Math.max(length, READ_CHUNK_BYTES), this.size - offset);
    const buffer = Buffer.alloc(want);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await this.handle.read(buffer, filled, want - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < length)
      throw new SlipwayError('SLW_IO_FAILED', `the file shrank while it was read (${filled} of ${length} bytes at ${offset})`);
    this.window = buffer.subarray(0, filled);
    this.windowStart = offset;
    return this.window.subarray(0, length);
  }
}

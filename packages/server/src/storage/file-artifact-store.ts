import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactStore, StagedUpload } from './artifact-store.js';

const KEY = /^[0-9a-f]{64}\.slw$/;

/**
 * Artifacts as files in DATA/artifacts, named by their SHA-256. Uploads are staged in
 * DATA/artifacts/.staging and renamed into place once verified and synced, so a crash leaves
 * either the whole file or a staging leftover (removed at the next start), never a partial artifact.
 */
export class FileArtifactStore implements ArtifactStore {
  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<FileArtifactStore> {
    await mkdir(join(dir, '.staging'), { recursive: true, mode: 0o700 });
    // Whatever is staged at start-up belongs to uploads a crash interrupted.
    await rm(join(dir, '.staging'), { recursive: true, force: true });
    await mkdir(join(dir, '.staging'), { recursive: true, mode: 0o700 });
    return new FileArtifactStore(dir);
  }

  async stage(): Promise<StagedUpload> {
    const path = join(this.dir, '.staging', `${randomUUID()}.part`);
    const sink = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const dir = this.dir;
    return {
      path,
      sink,
      async commit(sha256) {
        const key = `${sha256}.slw`;
        const handle = await open(path, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(path, join(dir, key));
        const directory = await open(dir, 'r');
        try {
          await directory.sync();
        } finally {
          await directory.close();
        }
        return key;
      },
      discard: () => rm(path, { force: true }),
    };
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    if (!KEY.test(key)) throw new Error(`not an artifact store key: ${key}`);
    // 256 KiB reads: a quarter of the thread-pool round trips of the 64 KiB default. Measured with
    // bench:download: 0.85-0.87x nginx; 1 MiB gave 0.79x and 4 MiB 0.61x (bigger TLS writes cost more).
    const chunk = { highWaterMark: 256 * 1024 };
    return createReadStream(join(this.dir, key), range ? { ...chunk, start: range.start, end: range.end } : chunk);
  }

  async remove(key: string): Promise<void> {
    if (!KEY.test(key)) throw new Error(`not an artifact store key: ${key}`);
    await rm(join(this.dir, key), { force: true });
  }
}

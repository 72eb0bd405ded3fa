import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type ArtifactReader, fileError, type Manifest, SlipwayError } from '@slipway/core';
import type { Installer, InstallerMemory } from './installer.js';
import { extractTar } from './tar-extract.js';

export interface DirectoryInstallerOptions {
  /** The application's directory: `releases/` and the `current` symlink live here. */
  readonly root: string;
  /** Run (no shell) after each switch of `current`, to restart the application. */
  readonly restartCommand?: readonly string[];
  /** Releases left after a commit, the current one included (default 2: it and the one before). */
  readonly keepReleases?: number;
}

const RESTART_TIMEOUT_MS = 60_000;
const RESTART_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
const STDERR_TAIL_CHARS = 2000;
const RELEASES = 'releases';
const CURRENT = 'current';
const INCOMING_PREFIX = '.incoming-';

/**
 * Application updates as release directories: the payload (one tar) unpacks into
 * `releases/<name>-<version>` beside the running release, and the switch is one atomic rename of
 * a new `current` symlink over the old one, so `current` always names a complete release. The
 * previous release stays until the commit, for rollback. A payload that fails verification or
 * holds an unsafe entry leaves `current` as it was.
 *
 * Memory: `releaseDir` (`releases/<dir>`, the link text `current` gets) and `previousRelease`
 * (what `current` held before, or null on a first install).
 */
export class DirectoryInstaller implements Installer {
  readonly payloadType = 'directory';
  private readonly root: string;
  private readonly releases: string;
  private readonly restartCommand: readonly string[] | undefined;
  private readonly keepReleases: number;

  constructor(options: DirectoryInstallerOptions) {
    this.root = resolve(options.root);
    this.releases = join(this.root, RELEASES);
    const keep = options.keepReleases ?? 2;
    if (!Number.isSafeInteger(keep) || keep < 1) {
      throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `keepReleases must be a whole number of at least 1, not ${keep}`);
    }
    this.keepReleases = keep;
    if (options.restartCommand !== undefined && (options.restartCommand.length === 0 || options.restartCommand[0] === '')) {
      throw new SlipwayError('SLW_USAGE_INVALID_OPTION', 'restartCommand names no program');
    }
    this.restartCommand = options.restartCommand;
  }

  async store(reader: ArtifactReader, onBytes?: (bytes: number) => void): Promise<InstallerMemory> {
    const payloads = reader.manifest.payloads;
    if (payloads.length !== 1)
      throw new SlipwayError(
        'SLW_ARTIFACT_UNEXPECTED_ENTRY',
        `a directory artifact has one payload, a tar of the release; this one has ${payloads.length}`,
      );
    const created = await io(this.releases, mkdir(this.releases, { recursive: true }));
    if (created !== undefined) await fsyncDir(this.root);
    const previousRelease = await this.readCurrent();
    const dir = this.releaseName(reader.manifest, previousRelease);
    const incoming = join(this.releases, `${INCOMING_PREFIX}${dir}`);
    const target = join(this.releases, dir);
    // Left by an earlier attempt that was killed; never what runs (releaseName sees to that).
    await io(incoming, rm(incoming, { recursive: true, force: true }));
    await io(target, rm(target, { recursive: true, force: true }));
    await io(incoming, mkdir(incoming, 0o755));
    try {
      for await (const payload of reader.payloads()) await extractTar(counted(payload, onBytes), incoming);
    } catch (err) {
      await rm(incoming, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    // Only a verified, complete and synced tree gets its final name.
    await io(target, rename(incoming, target));
    await fsyncDir(this.releases);
    return { releaseDir: `${RELEASES}/${dir}`, previousRelease };
  }

  async install(memory: InstallerMemory): Promise<'installed'> {
    const releaseDir = releaseDirOf(memory);
    const path = join(this.root, releaseDir);
    const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw fileError(err, path, 'read');
    });
    if (!info?.isDirectory()) throw new SlipwayError('SLW_INSTALLER_FAILED', `the stored release ${path} is missing`);
    await this.pointCurrentAt(releaseDir);
    await this.restart();
    return 'installed';
  }

  async runsNew(memory: InstallerMemory): Promise<boolean> {
    const current = await this.readCurrent();
    return current !== null && resolve(this.root, current) === resolve(this.root, releaseDirOf(memory));
  }

  async commit(memory: InstallerMemory): Promise<void> {
    const entries = await io(this.releases, readdir(this.releases));
    const releases: { name: string; mtimeMs: number }[] = [];
    for (const name of entries) {
      if (name.startsWith('.')) continue;
      const info = await lstat(join(this.releases, name)).catch(() => null);
      if (info?.isDirectory()) releases.push({ name, mtimeMs: info.mtimeMs });
    }
    releases.sort((a, b) => b.mtimeMs - a.mtimeMs);
    // What runs first, then the rollback target, then the newest others.
    const wanted = [this.releaseNameOf(await this.readCurrent()), this.releaseNameOf(releaseDirOf(memory))];
    wanted.push(this.releaseNameOf(previousReleaseOf(memory)), ...releases.map((r) => r.name));
    const keep = new Set<string>();
    for (const name of wanted) {
      if (keep.size >= this.keepReleases) break;
      if (name !== null && entries.includes(name)) keep.add(name);
    }
    // Everything else goes, leftovers of killed stores (.incoming-*) included.
    for (const name of entries) {
      if (!keep.has(name)) await io(join(this.releases, name), rm(join(this.releases, name), { recursive: true, force: true }));
    }
    await fsyncDir(this.releases);
  }

  async rollback(memory: InstallerMemory, _newIsRunning: boolean): Promise<'rolledBack'> {
    const previous = previousReleaseOf(memory);
    if (previous === null) {
      const path = join(this.root, CURRENT);
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw fileError(err, path, 'write');
      });
      await fsyncDir(this.root);
    } else {
      await this.pointCurrentAt(previous);
    }
    await this.restart();
    return 'rolledBack';
  }

  /** The text of the `current` symlink, or null when there is none yet. */
  private async readCurrent(): Promise<string | null> {
    const path = join(this.root, CURRENT);
    try {
      return await readlink(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EINVAL') {
        throw new SlipwayError('SLW_INSTALLER_FAILED', `${path} is not a symlink; the directory installer manages it as one`, {
          cause: err,
        });
      }
      throw fileError(err, path, 'read');
    }
  }

  /** A new link renamed over the old one: `current` is never missing and never half-written. */
  private async pointCurrentAt(linkText: string): Promise<void> {
    const next = join(this.root, `${CURRENT}.new`);
    await unlink(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw fileError(err, next, 'write');
    });
    await io(next, symlink(linkText, next));
    await io(join(this.root, CURRENT), rename(next, join(this.root, CURRENT)));
    await fsyncDir(this.root);
  }

  /**
   * `<name>-<version>`, made a safe path component; when that is the release that runs (the same
   * version again), another name, because store() clears its target and must not clear what runs.
   */
  private releaseName(manifest: Manifest, current: string | null): string {
    const base = `${manifest.name}-${manifest.version}`
      .replace(/[^A-Za-z0-9._+~-]/g, '_')
      .replace(/^\./, '_')
      .slice(0, 200);
    const running = current === null ? null : this.releaseNameOf(current);
    return base === running ? `${base}@2` : base;
  }

  /** The directory name under releases/ that a link text names, or null when it names something else. */
  private releaseNameOf(linkText: string | null): string | null {
    if (linkText === null) return null;
    const path = resolve(this.root, linkText);
    return dirname(path) === this.releases ? basename(path) : null;
  }

  private async restart(): Promise<void> {
    if (this.restartCommand === undefined) return;
    const [command = '', ...args] = this.restartCommand;
    await new Promise<void>((done, fail) => {
      execFile(
        command,
        args,
        { cwd: this.root, encoding: 'utf8', timeout: RESTART_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: RESTART_MAX_OUTPUT_BYTES },
        (err, _stdout, stderr) => {
          if (!err) {
            done();
            return;
          }
          const failure = err as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null; code?: unknown };
          const tail = stderr.trim().slice(-STDERR_TAIL_CHARS);
          let how: string;
          if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') how = `printed more than ${RESTART_MAX_OUTPUT_BYTES} bytes`;
          else if (typeof failure.code === 'string') how = `could not be run (${failure.code})`;
          else if (failure.killed) how = `did not finish within ${RESTART_TIMEOUT_MS / 1000} s`;
          else how = typeof failure.code === 'number' ? `failed (exit ${failure.code})` : `failed (signal ${failure.signal ?? 'unknown'})`;
          fail(
            new SlipwayError('SLW_INSTALLER_FAILED', `the restart command ${command} ${how}${tail ? `: ${tail}` : ''}`, {
              cause: err,
              details: { command: [...(this.restartCommand ?? [])], stderr: tail },
            }),
          );
        },
      );
    });
  }
}

/** Counts the payload bytes as they pass, for download progress. */
async function* counted(payload: AsyncIterable<Uint8Array>, onBytes?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of payload) {
    total += chunk.length;
    onBytes?.(total);
    yield chunk;
  }
}

function releaseDirOf(memory: InstallerMemory): string {
  const value = memory.releaseDir;
  if (typeof value !== 'string' || !/^releases\/[A-Za-z0-9_][A-Za-z0-9._+~@-]*$/.test(value)) {
    throw new SlipwayError('SLW_AGENT_STATE_INVALID', `the update record names the release ${JSON.stringify(value)}`);
  }
  return value;
}

function previousReleaseOf(memory: InstallerMemory): string | null {
  const value = memory.previousRelease;
  if (value === null) return null;
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new SlipwayError('SLW_AGENT_STATE_INVALID', `the update record names the previous release ${JSON.stringify(value)}`);
  }
  return value;
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await io(path, open(path, constants.O_RDONLY | constants.O_DIRECTORY));
  try {
    await io(path, handle.sync());
  } finally {
    await handle.close();
  }
}

function io<T>(path: string, operation: Promise<T>): Promise<T> {
  return operation.catch((err: unknown) => {
    throw fileError(err, path, 'write');
  });
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants, open as openFd, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ArtifactReader, fileError, type Manifest, SlipwayError } from '@slipway/core';
import { syncDirectory, writeFileAtomic } from '../state/atomic-file.js';
import type { Installer, InstallerMemory } from './installer.js';

export interface ModuleInstallerOptions {
  /** The module's name: the payload type is `module:<name>` and the executable is called `<name>`. */
  readonly name: string;
  /** Where to look for the executable, first match wins (e.g. /usr/lib/slipway/modules, then /usr/share/mender/modules/v3). */
  readonly modulesDirs: readonly string[];
  /** This module's own directory under the agent's state dir; the module's files tree is `tree` in it. */
  readonly workDir: string;
  /** Limit of each call of the module (default one hour); past it the module and all it started are killed. */
  readonly timeoutMs?: number;
  /** Written to `current_device_type` in the files tree. */
  readonly deviceType?: string;
  /** What runs now, for `current_artifact_name` (written as `<name>-<version>`, like `header/artifact_name`). */
  readonly installed?: () => Promise<{ readonly name: string; readonly version: string } | null>;
  /** The module's output a line at a time, and how each call ended, for the deployment log. */
  readonly log?: (line: string) => void;
}

/** The Update Module v3 states and queries this installer calls. */
export type ModuleState =
  | 'Download'
  | 'ArtifactInstall'
  | 'NeedsArtifactReboot'
  | 'SupportsRollback'
  | 'ArtifactVerifyReboot'
  | 'ArtifactCommit'
  | 'ArtifactRollback'
  | 'ArtifactFailure'
  | 'Cleanup';

type RebootAnswer = 'No' | 'Yes' | 'Automatic';

/**
 * What the installer learnt about this update, kept next to the files tree because
 * `Installer.install` cannot hand memory back to the state machine: the module's answers, and
 * which states already ran, so a state repeated after a kill neither runs a module state twice
 * nor forgets that it did.
 */
interface Progress {
  readonly installStarted?: boolean;
  readonly installed?: boolean;
  readonly reboot?: RebootAnswer;
  readonly supportsRollback?: boolean;
  readonly committed?: boolean;
  readonly rolledBack?: boolean;
  readonly failureRan?: boolean;
  readonly cleanedUp?: boolean;
}

interface CallOutcome {
  readonly ok: boolean;
  /** `exit 0`, `exit 3`, `killed by SIGSEGV`, `timed out after 3600000 ms`, `could not start (EACCES)`. */
  readonly how: string;
  /** Non-empty stdout lines, for the queries. */
  readonly stdout: readonly string[];
  readonly stderrTail: string;
}

interface RunningCall {
  readonly done: Promise<CallOutcome>;
  exited(): boolean;
  /** Stops the module and everything it started (SIGTERM, SIGKILL after a grace period). */
  stop(): void;
}

/** Same rule as the manifest's payload type: the name can never climb out of a modules directory. */
const MODULE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;
const KILL_GRACE_MS = 5000;
/** A module that exits while something it started still holds its output gets this long to let go. */
const OUTPUT_DRAIN_MS = 1000;
const POLL_MS = 20;
const MAX_LINE = 4096;
const STDERR_TAIL = 4096;
const STDOUT_LINES_KEPT = 8;
const ERROR_TAIL_LINES = 10;

const execFileAsync = promisify(execFile);
const openRaw = promisify(openFd);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The module name of a payload type `module:<name>`, or null for other payload types. */
export function moduleNameOf(payloadType: string): string | null {
  const name = payloadType.startsWith('module:') ? payloadType.slice('module:'.length) : null;
  return name !== null && MODULE_NAME.test(name) ? name : null;
}

/**
 * Runs an update module through the update's states, following the Mender Update Module v3
 * protocol so that modules written for Mender (`single-file`, `directory`, `script`, `docker`, …)
 * work unchanged: `MODULE STATE FILES_DIR`, in FILES_DIR, with the agent's environment, each
 * call in its own process group. Download is always called: a module that reads `stream-next`
 * gets the payloads streamed through FIFOs; one that exits without reading it gets them stored
 * in `files` afterwards, as Mender does. ArtifactReboot and ArtifactRollbackReboot are not
 * called: the agent's own reboot (proven by a new boot id) stands in for both.
 */
export class ModuleInstaller implements Installer {
  readonly payloadType: string;
  readonly name: string;
  /** FILES_DIR: what the module is given. */
  readonly tree: string;
  private readonly progressFile: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: ModuleInstallerOptions) {
    if (!MODULE_NAME.test(options.name)) {
      throw new SlipwayError('SLW_INSTALLER_UNSUPPORTED', `"${options.name}" is not a valid update module name`);
    }
    this.name = options.name;
    this.payloadType = `module:${options.name}`;
    this.tree = join(options.workDir, 'tree');
    this.progressFile = join(options.workDir, 'progress.json');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The module's executable: the first regular, executable file of that name in the directories, or null. */
  static locate(name: string, modulesDirs: readonly string[]): string | null {
    if (!MODULE_NAME.test(name)) return null;
    for (const dir of modulesDirs) {
      const path = join(dir, name);
      try {
        const info = statSync(path);
        if (info.isFile() && (info.mode & 0o111) !== 0) return path;
      } catch {
        // Not in this directory: the next one may have it.
      }
    }
    return null;
  }

  /**
   * The installer when the module is there, undefined when it is not (the agent's installerFor
   * then refuses the payload type with SLW_INSTALLER_UNSUPPORTED).
   */
  static find(options: ModuleInstallerOptions): ModuleInstaller | undefined {
    return ModuleInstaller.locate(options.name, options.modulesDirs) === null ? undefined : new ModuleInstaller(options);
  }

  async store(reader: ArtifactReader, onBytes?: (bytes: number) => void): Promise<InstallerMemory> {
    const manifest = reader.manifest;
    if (manifest.payloadType !== this.payloadType) {
      throw new SlipwayError('SLW_INSTALLER_UNSUPPORTED', `the ${this.payloadType} installer was given a ${manifest.payloadType} artifact`);
    }
    this.modulePath();
    // An earlier attempt may have left a tree, streams or answers: every attempt starts from nothing.
    await rm(this.options.workDir, { recursive: true, force: true });
    await this.prepareTree(manifest);
    try {
      const { streamed, bytes } = await this.download(reader, onBytes);
      return { module: this.name, streamed, payloadBytes: bytes };
    } catch (err) {
      // Mender runs only Cleanup after a failed Download.
      await this.cleanup();
      throw err;
    }
  }

  async install(_memory: InstallerMemory): Promise<'needsReboot' | 'installed'> {
    const progress = await this.progress();
    if (progress.installStarted && !progress.installed) {
      // Running ArtifactInstall again would, for instance, back up the new file as the old one.
      throw new SlipwayError(
        'SLW_INSTALLER_FAILED',
        `update module ${this.name} was stopped in ArtifactInstall (the agent was killed or it failed); rolling back instead of running it again`,
        { details: { module: this.name, state: 'ArtifactInstall' } },
      );
    }
    if (!progress.installed) {
      await this.note({ installStarted: true });
      await this.call('ArtifactInstall');
      await this.note({ installed: true });
    }
    const reboot = rebootAnswer(await this.query('NeedsArtifactReboot'), this.name);
    const supportsRollback = yesNo(await this.query('SupportsRollback'), this.name);
    await this.note({ reboot, supportsRollback });
    return reboot === 'No' ? 'installed' : 'needsReboot';
  }

  /**
   * After the reboot the module asked for, ArtifactVerifyReboot decides. Its failure is thrown,
   * not answered with false: like Mender, the module then gets ArtifactRollback, ArtifactFailure
   * and Cleanup, which a fallen-back trial (false) would skip.
   */
  async runsNew(_memory: InstallerMemory): Promise<boolean> {
    const progress = await this.progress();
    if (progress.reboot === 'Yes' || progress.reboot === 'Automatic') await this.call('ArtifactVerifyReboot');
    return true;
  }

  async commit(_memory: InstallerMemory): Promise<void> {
    const progress = await this.progress();
    if (!progress.committed) {
      await this.call('ArtifactCommit');
      await this.note({ committed: true });
    }
    await this.cleanup();
  }

  /**
   * ArtifactRollback when the module supports it, then ArtifactFailure and Cleanup, all before
   * returning: after a rollback reboot the state machine does not come back here. A module that
   * cannot roll back leaves the new software in place; that is reported as a failure (thrown)
   * after ArtifactFailure and Cleanup, not as a rollback.
   */
  async rollback(_memory: InstallerMemory, newIsRunning: boolean): Promise<'needsReboot' | 'rolledBack'> {
    let progress = await this.progress();
    const errors: SlipwayError[] = [];
    let supportsRollback = progress.supportsRollback;
    if (supportsRollback === undefined && !progress.cleanedUp) {
      // ArtifactInstall failed before the question was asked (Mender asks it on the failure path too).
      try {
        supportsRollback = yesNo(await this.query('SupportsRollback'), this.name);
        progress = await this.note({ supportsRollback });
      } catch (err) {
        errors.push(asInstallerError(err));
      }
    }
    if (supportsRollback === true && !progress.rolledBack) {
      try {
        await this.call('ArtifactRollback');
        progress = await this.note({ rolledBack: true });
      } catch (err) {
        errors.push(asInstallerError(err));
      }
    }
    if (!progress.failureRan) {
      try {
        await this.call('ArtifactFailure');
        progress = await this.note({ failureRan: true });
      } catch (err) {
        errors.push(asInstallerError(err));
      }
    }
    await this.cleanup();
    const [first] = errors;
    if (first) throw first;
    if (supportsRollback !== true) {
      throw new SlipwayError(
        'SLW_INSTALLER_FAILED',
        `update module ${this.name} does not support rollback (SupportsRollback: No): the new software stays installed`,
        { details: { module: this.name, state: 'SupportsRollback' } },
      );
    }
    const rebooted = progress.reboot === 'Yes' || progress.reboot === 'Automatic';
    return rebooted && newIsRunning ? 'needsReboot' : 'rolledBack';
  }

  /** Cleanup (skipped when there is no tree, as Mender does), then the tree goes; a failure is logged only. */
  private async cleanup(): Promise<void> {
    if ((await this.progress()).cleanedUp) return;
    if (await exists(this.tree)) {
      try {
        await this.call('Cleanup');
      } catch (err) {
        // Cleanup must not change the system: its failure does not undo a commit or a rollback.
        this.options.log?.(`update module ${this.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await rm(this.tree, { recursive: true, force: true });
    await this.note({ cleanedUp: true });
  }

  private async prepareTree(manifest: Manifest): Promise<void> {
    const tree = this.tree;
    for (const dir of [tree, join(tree, 'header'), join(tree, 'tmp'), join(tree, 'streams')]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    const installed = (await this.options.installed?.()) ?? null;
    const artifactName = `${manifest.name}-${manifest.version}`;
    const headerInfo = {
      payloads: [{ type: this.name }],
      artifact_provides: { artifact_name: artifactName },
      artifact_depends: { device_type: manifest.deviceTypes },
    };
    const files: Record<string, string> = {
      version: '3\n',
      current_artifact_name: installed ? `${installed.name}-${installed.version}\n` : '',
      // Slipway has no artifact groups; Mender writes an empty file when there is none.
      current_artifact_group: '',
      current_device_type: this.options.deviceType !== undefined ? `${this.options.deviceType}\n` : '',
      'header/artifact_name': artifactName,
      'header/artifact_group': '',
      'header/payload_type': this.name,
      'header/header-info': JSON.stringify(headerInfo, null, 2),
      'header/type-info': JSON.stringify({ type: this.name }, null, 2),
      'header/meta-data': JSON.stringify(manifest.metadata ?? {}, null, 2),
    };
    for (const [name, content] of Object.entries(files)) await writeFileAtomic(join(tree, name), content);
    await mkfifo(join(tree, 'stream-next'));
    await syncDirectory(tree);
  }

  /**
   * Download, as Mender runs it: the module starts with `stream-next` (a FIFO) in its tree. If it
   * opens it, each payload is announced there (`streams/<name>`, then an empty read at the end)
   * and streamed through the FIFO of that name; if it exits without opening it, the payloads go
   * to `files` once it has exited. The end of the streams is announced only after the whole
   * artifact verified, so a module never sees a clean end of a tampered payload.
   */
  private async download(reader: ArtifactReader, onBytes?: (bytes: number) => void): Promise<{ streamed: boolean; bytes: number }> {
    const streamNext = join(this.tree, 'stream-next');
    const run = this.start('Download', false);
    const open: Socket[] = [];
    let bytes = 0;
    const waitForReader = async (path: string): Promise<Socket> => {
      const socket = await whenRead(path, run);
      if (socket === null) {
        const outcome = await run.done;
        if (!outcome.ok) throw this.failure('Download', outcome);
        throw new SlipwayError('SLW_INSTALLER_FAILED', `update module ${this.name} ended Download before it had read all payload streams`, {
          details: { module: this.name, state: 'Download' },
        });
      }
      open.push(socket);
      return socket;
    };
    try {
      const first = await whenRead(streamNext, run);
      if (first === null) {
        const outcome = await run.done;
        if (!outcome.ok) throw this.failure('Download', outcome);
        await rm(streamNext, { force: true });
        await rm(join(this.tree, 'streams'), { recursive: true, force: true });
        bytes = await this.storeFiles(reader, onBytes);
        return { streamed: false, bytes };
      }
      open.push(first);
      let next: Socket | null = first;
      for await (const payload of reader.payloads()) {
        const announce: Socket = next ?? (await waitForReader(streamNext));
        next = null;
        const name = payload.info.name;
        await mkfifo(join(this.tree, 'streams', name));
        await writeTo(announce, `streams/${name}\n`);
        await close(announce);
        const stream = await waitForReader(join(this.tree, 'streams', name));
        for await (const chunk of payload) {
          // Chunks are borrowed views: each is handed to the kernel before the next is read.
          await writeTo(stream, chunk);
          bytes += chunk.length;
          onBytes?.(bytes);
        }
        await close(stream);
      }
      await close(next ?? (await waitForReader(streamNext)));
      const outcome = await run.done;
      if (!outcome.ok) throw this.failure('Download', outcome);
      return { streamed: true, bytes };
    } catch (err) {
      for (const socket of open) socket.destroy();
      run.stop();
      const outcome = await run.done;
      if (err instanceof SlipwayError) throw err;
      // A broken pipe: the module stopped reading; its own exit says why.
      throw this.failure('Download', outcome, err);
    }
  }

  private async storeFiles(reader: ArtifactReader, onBytes?: (bytes: number) => void): Promise<number> {
    const dir = join(this.tree, 'files');
    await mkdir(dir, { mode: 0o700 });
    let bytes = 0;
    for await (const payload of reader.payloads()) {
      const path = join(dir, payload.info.name);
      const file = await open(path, 'wx', 0o600).catch((err: unknown) => {
        throw fileError(err, path, 'write');
      });
      try {
        for await (const chunk of payload) {
          let offset = 0;
          while (offset < chunk.length) offset += (await file.write(chunk, offset, chunk.length - offset)).bytesWritten;
          bytes += chunk.length;
          onBytes?.(bytes);
        }
        await file.sync();
      } finally {
        await file.close();
      }
    }
    await syncDirectory(dir);
    return bytes;
  }

  /** Runs a state to its end; SLW_INSTALLER_FAILED unless it exits 0. */
  private async call(state: ModuleState): Promise<void> {
    await this.requireTree(state);
    const outcome = await this.start(state, false).done;
    if (!outcome.ok) throw this.failure(state, outcome);
  }

  /** Runs a query; its answer is the one line it prints (none counts as empty). */
  private async query(state: ModuleState): Promise<string> {
    await this.requireTree(state);
    const outcome = await this.start(state, true).done;
    if (!outcome.ok) throw this.failure(state, outcome);
    if (outcome.stdout.length > 1) {
      throw new SlipwayError(
        'SLW_INSTALLER_FAILED',
        `update module ${this.name} printed more than one line for ${state}: ${outcome.stdout.join(' | ').slice(0, 200)}`,
        { details: { module: this.name, state } },
      );
    }
    return outcome.stdout[0] ?? '';
  }

  private async requireTree(state: ModuleState): Promise<void> {
    if (!(await exists(this.tree))) {
      throw new SlipwayError('SLW_INSTALLER_FAILED', `update module ${this.name}: no files tree for ${state} at ${this.tree}`, {
        details: { module: this.name, state },
      });
    }
  }

  private modulePath(): string {
    const path = ModuleInstaller.locate(this.name, this.options.modulesDirs);
    if (path === null) {
      throw new SlipwayError(
        'SLW_INSTALLER_UNSUPPORTED',
        `no update module ${this.name} (an executable file) in ${this.options.modulesDirs.join(', ') || 'any modules directory'}`,
      );
    }
    return path;
  }

  private start(state: ModuleState, capture: boolean): RunningCall {
    const name = this.name;
    const log = this.options.log;
    const child = spawn(this.modulePath(), [state, this.tree], { cwd: this.tree, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: string[] = [];
    let stderrTail = '';
    let exited = false;
    let timedOut = false;
    let stopped = false;
    const lines = (emit: (line: string) => void) => {
      let pending = '';
      return {
        push(text: string) {
          pending += text;
          for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
            emit(pending.slice(0, i).replace(/\r$/, ''));
            pending = pending.slice(i + 1);
          }
          if (pending.length > MAX_LINE) {
            emit(pending);
            pending = '';
          }
        },
        end() {
          if (pending) emit(pending);
          pending = '';
        },
      };
    };
    const out = lines((line) => {
      if (!capture) log?.(`module ${name} ${state}: ${line}`);
      else if (line.trim() !== '' && stdout.length < STDOUT_LINES_KEPT) stdout.push(line.trim());
    });
    const err = lines((line) => log?.(`module ${name} ${state}: ${line}`));
    child.stdout?.setEncoding('utf8').on('data', (text: string) => out.push(text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      err.push(text);
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    });
    const timers: NodeJS.Timeout[] = [];
    const stop = () => {
      if (stopped) return;
      stopped = true;
      killGroup(child, 'SIGTERM');
      timers.push(setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS));
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, this.timeoutMs),
    );
    child.on('exit', () => {
      exited = true;
      timers.push(
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, OUTPUT_DRAIN_MS),
      );
    });
    const done = new Promise<CallOutcome>((resolve) => {
      let settled = false;
      const settle = (how: string, ok: boolean) => {
        if (settled) return;
        settled = true;
        exited = true;
        for (const timer of timers) clearTimeout(timer);
        // What a killed module started must not outlive it; a module that exits by itself keeps its children (as in Mender).
        if (stopped) killGroup(child, 'SIGKILL');
        out.end();
        err.end();
        log?.(`module ${name} ${state}: ${how}`);
        resolve({ ok, how, stdout, stderrTail });
      };
      child.on('error', (error: NodeJS.ErrnoException) => settle(`could not start (${error.code ?? error.message})`, false));
      child.on('close', (code, signal) => {
        if (timedOut) settle(`timed out after ${this.timeoutMs} ms`, false);
        else if (stopped) settle('stopped by the agent', false);
        else if (signal) settle(`killed by ${signal}`, false);
        else settle(`exit ${code}`, code === 0);
      });
    });
    return { done, exited: () => exited, stop };
  }

  private failure(state: ModuleState, outcome: CallOutcome, cause?: unknown): SlipwayError {
    const tail = outcome.stderrTail.trimEnd().split('\n').slice(-ERROR_TAIL_LINES).join('\n');
    return new SlipwayError(
      'SLW_INSTALLER_FAILED',
      `update module ${this.name} failed in ${state} (${outcome.how})${tail ? `: ${tail}` : ''}`,
      {
        cause,
        details: { module: this.name, state, how: outcome.how, stderr: tail },
      },
    );
  }

  private async progress(): Promise<Progress> {
    let text: string;
    try {
      text = await readFile(this.progressFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw fileError(err, this.progressFile, 'read');
    }
    try {
      return JSON.parse(text) as Progress;
    } catch (err) {
      throw new SlipwayError('SLW_AGENT_STATE_INVALID', `${this.progressFile} is not valid JSON`, { cause: err });
    }
  }

  private async note(patch: Progress): Promise<Progress> {
    const next = { ...(await this.progress()), ...patch };
    await mkdir(this.options.workDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.progressFile, `${JSON.stringify(next)}\n`);
    return next;
  }
}

function rebootAnswer(answer: string, name: string): RebootAnswer {
  if (answer === '' || answer === 'No') return 'No';
  if (answer === 'Yes' || answer === 'Automatic') return answer;
  throw new SlipwayError('SLW_INSTALLER_FAILED', `update module ${name} answered NeedsArtifactReboot with "${answer.slice(0, 100)}"`, {
    details: { module: name, state: 'NeedsArtifactReboot' },
  });
}

function yesNo(answer: string, name: string): boolean {
  if (answer === '' || answer === 'No') return false;
  if (answer === 'Yes') return true;
  // AutomaticDualRootfs was never implemented by Mender either.
  throw new SlipwayError('SLW_INSTALLER_FAILED', `update module ${name} answered SupportsRollback with "${answer.slice(0, 100)}"`, {
    details: { module: name, state: 'SupportsRollback' },
  });
}

function asInstallerError(err: unknown): SlipwayError {
  if (err instanceof SlipwayError) return err;
  return new SlipwayError('SLW_INSTALLER_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function mkfifo(path: string): Promise<void> {
  try {
    // Node has no mkfifo(3); coreutils' is on every system that runs shell modules.
    await execFileAsync('mkfifo', ['-m', '600', path]);
  } catch (err) {
    throw new SlipwayError(
      'SLW_INSTALLER_FAILED',
      `could not create the FIFO ${path}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * The write end of a FIFO once the module has opened it for reading, or null when the module
 * exited first. A non-blocking open fails (ENXIO) while there is no reader, so polling it never
 * leaves a thread stuck in open(2) the way a blocking open would.
 */
async function whenRead(path: string, run: RunningCall): Promise<Socket | null> {
  for (;;) {
    if (run.exited()) return null;
    try {
      const fd = await openRaw(path, constants.O_WRONLY | constants.O_NONBLOCK);
      const socket = new Socket({ fd, readable: false, writable: true });
      // Errors (EPIPE when the module stops reading) reach the pending write's callback.
      socket.on('error', () => {});
      return socket;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw fileError(err, path, 'open');
    }
    await sleep(POLL_MS);
  }
}

function writeTo(socket: Socket, data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/** Ends the write side: the module reads end-of-file. */
function close(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.end((err?: Error | null) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

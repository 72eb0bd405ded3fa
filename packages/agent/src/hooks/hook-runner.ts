import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileError } from '@slipway/core';

export interface HookOptions {
  /** Each hook's limit; past it the hook and everything it started are killed. */
  readonly timeoutMs: number;
  /** Extra environment for the hooks (SLIPWAY_STATE, SLIPWAY_ARTIFACT_NAME, …). */
  readonly env?: Readonly<Record<string, string>>;
  /** Which files of the directory are hooks for this call (all executables by default). */
  readonly select?: (name: string) => boolean;
  /** Each hook's outcome and the tail of its output, for the deployment log. */
  readonly log?: (line: string) => void;
}

export interface HookFailure {
  readonly hook: string;
  /** The exit code, the signal, or `timeout`. */
  readonly how: string;
  readonly output: string;
}

export type HookResult =
  | { readonly ok: true; readonly ran: readonly string[] }
  | { readonly ok: false; readonly ran: readonly string[]; readonly failed: HookFailure };

const OUTPUT_TAIL = 4096;

/**
 * Runs the integrator's executables in a directory one at a time, in name order, and stops at
 * the first that fails or overruns its time (all must pass: sanity checks, state scripts). No
 * shell is involved; each hook runs in its own process group so a timeout kills what it started
 * too. A missing directory has no hooks; files that are not executable are skipped and logged.
 */
export async function runHooks(dir: string, options: HookOptions): Promise<HookResult> {
  const names = await hookNames(dir, options);
  const ran: string[] = [];
  for (const name of names) {
    ran.push(name);
    const outcome = await runOne(join(dir, name), options);
    options.log?.(`hook ${name}: ${outcome.how}${outcome.output ? `\n${outcome.output.trimEnd()}` : ''}`);
    if (outcome.how !== 'exit 0') return { ok: false, ran, failed: { hook: name, how: outcome.how, output: outcome.output } };
  }
  return { ok: true, ran };
}

async function hookNames(dir: string, options: HookOptions): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fileError(err, dir, 'read');
  }
  const names: string[] = [];
  for (const name of entries.sort()) {
    if (name.startsWith('.') || !(options.select?.(name) ?? true)) continue;
    const info = await stat(join(dir, name));
    if (!info.isFile() || (info.mode & 0o111) === 0) {
      options.log?.(`hook ${name}: skipped (not an executable file)`);
      continue;
    }
    names.push(name);
  }
  return names;
}

function runOne(path: string, options: HookOptions): Promise<{ how: string; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    const child = spawn(path, [], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...options.env },
    });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ how: `could not start (${(err as NodeJS.ErrnoException).code ?? err.message})`, output });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the hook left running in its group goes with it.
      killGroup(child.pid);
      resolve({ how: timedOut ? 'timeout' : signal ? `signal ${signal}` : `exit ${code}`, output });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * State scripts follow Mender's naming: `<State>_<Enter|Leave|Error>_<NN>[_description]`, e.g.
 * `ArtifactInstall_Leave_10_stop-app`; this selects those of one state and phase.
 */
export function stateScripts(state: string, phase: 'Enter' | 'Leave' | 'Error'): (name: string) => boolean {
  const pattern = new RegExp(`^${state}_${phase}_\\d{2}(_[A-Za-z0-9._-]+)?$`);
  return (name) => pattern.test(name);
}

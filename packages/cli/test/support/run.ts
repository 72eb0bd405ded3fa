// Runs the `slipway` command two ways: in-process through runCli (fast, most tests) and as a
// real subprocess of the bundled bin (the contract that outside tests and users see).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/dispatch.js';
import type { CliEnvironment } from '../../src/cli/environment.js';
import { COMMANDS } from '../../src/commands/index.js';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InProcessOptions {
  readonly env?: Partial<CliEnvironment>;
  /** The clock the command sees (expiries, createdAt); the real clock when omitted. */
  readonly now?: Date;
  /** What the command reads from standard input (`--password-stdin`). */
  readonly stdin?: string;
}

class Capture extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

// A config directory nobody uses: tests that log in pass their own.
const DEFAULT_ENV: CliEnvironment = {
  keyPassphrase: undefined,
  debug: false,
  serverEnv: {},
  server: undefined,
  token: undefined,
  ca: undefined,
  configDir: '/nonexistent/slipway-test-config',
};

/** One in-process invocation. Commands resolve relative paths against process.cwd(): pass absolute ones. */
export async function slipway(args: readonly string[], options: InProcessOptions = {}): Promise<RunResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli({
    argv: args,
    commands: COMMANDS,
    env: { ...DEFAULT_ENV, ...options.env },
    stdout,
    stderr,
    ...(options.now ? { now: options.now } : {}),
    ...(options.stdin !== undefined ? { stdin: Readable.from([options.stdin]) } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** The bundled single-file program that `npm run build` writes (dist/test/support -> dist/slipway.mjs). */
export const BIN = fileURLToPath(new URL('../../slipway.mjs', import.meta.url));

export interface SubprocessOptions {
  readonly cwd?: string;
  /** Added to a minimal environment (PATH, HOME); SLIPWAY_* from the test runner never leaks in. */
  readonly env?: Readonly<Record<string, string>>;
}

/** One real `node dist/slipway.mjs ...` process; stdin is a pipe (not a terminal) and is closed at once. */
export function slipwayBin(args: readonly string[], options: SubprocessOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === null) reject(new Error(`slipway ${args.join(' ')} was killed by ${signal}`));
      else resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const ONE_ERROR_LINE = /^SLW_[A-Z_]+: .+\n$/;

function describe(context: readonly string[] | string | undefined, result: RunResult): string {
  const shown = typeof context === 'string' ? `${context}\n` : context ? `slipway ${context.join(' ')}\n` : '';
  return `${shown}exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

/** Exit 0; shows the command's output when it was not. */
export function assertOk(result: RunResult, context?: readonly string[] | string): void {
  assert.equal(result.code, 0, describe(context, result));
}

/**
 * The failure contract: a non-zero exit (2 for usage errors, 1 otherwise) and exactly one line on
 * stderr, `SLW_CODE: message`, naming the expected code (or a code matching a pattern), with no
 * stack trace.
 */
export function assertFails(result: RunResult, code: string | RegExp, exitCode?: number): void {
  const shown = describe(undefined, result);
  assert.notEqual(result.code, 0, shown);
  assert.match(result.stderr, ONE_ERROR_LINE, shown);
  const actual = result.stderr.split(':')[0] ?? '';
  if (typeof code === 'string') assert.equal(actual, code, shown);
  else assert.match(actual, code, shown);
  assert.equal(result.code, exitCode ?? (actual.startsWith('SLW_USAGE_') ? 2 : 1), shown);
  assert.doesNotMatch(result.stderr, /^\s+at |node:internal|file:\/\/|\.[cm]?js:\d+/m, 'no stack trace');
}

/** A fresh directory under the OS temp dir, removed by cleanup(). */
export interface Scratch {
  readonly dir: string;
  path(...names: string[]): string;
  cleanup(): Promise<void>;
}

export async function scratch(prefix = 'slipway-cli-test-'): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    dir,
    path: (...names) => join(dir, ...names),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The command paths that `slipway --help` lists, read from its output. */
export function listedCommands(overview: string): string[] {
  const start = overview.indexOf('Commands:\n');
  assert.ok(start >= 0, overview);
  const paths: string[] = [];
  for (const line of overview.slice(start + 'Commands:\n'.length).split('\n')) {
    if (!line.startsWith('  ')) break;
    const path = line.trim().split(/\s{2,}/)[0];
    if (path) paths.push(path);
  }
  return paths;
}

/** Parses a command's --json stdout, failing the test with the output when it is not JSON. */
export function parseJson<T = Record<string, unknown>>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    assert.fail(`stdout is not JSON:\n${result.stdout}\nstderr: ${result.stderr}`);
  }
}

// The README's quickstart, run as it is written: its shell blocks, in order, each in the terminal
// its first line names. A block that says "leave it running" keeps running in the background, and
// the next block starts once it printed what the README says to wait for, as a reader would.
// Two things differ from a reader's machine, so the test can run next to a real server: the port
// (a free one instead of 8443, replaced in the commands) and the repository's directory for
// terminals 2 and 3 (a temporary one that links to this repository's node_modules, packages and
// scripts, and where the server keeps its slipway-data).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Compiled to packages/agent/dist/test/quickstart.test.js: the repository root is four levels up.
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const TIMEOUT_MS = 170_000;
const WAIT_FOR_OUTPUT_MS = 60_000;

interface Block {
  readonly terminal: number;
  readonly script: string;
  /** For a block that keeps running: the text to wait for before going on. */
  readonly waitFor: string | null;
}

/** The ```sh blocks of the README's Quickstart section, with the terminal each belongs to. */
function quickstartBlocks(readme: string): Block[] {
  const start = readme.indexOf('\n## Quickstart');
  assert.ok(start >= 0, 'README.md has no Quickstart section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks: Block[] = [];
  for (const match of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const script = match[1] ?? '';
    const first = script.split('\n')[0] ?? '';
    const terminal = /^# terminal (\d+)/.exec(first);
    assert.ok(terminal, `a quickstart block does not say its terminal: ${first}`);
    const running = /leave it running; go on once it (?:logs|prints) "([^"]+)"/.exec(first);
    blocks.push({ terminal: Number(terminal[1]), script, waitFor: running?.[1] ?? null });
  }
  return blocks;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A terminal: one bash that keeps its directory and variables from block to block. */
class Terminal {
  readonly child: ChildProcess;
  output = '';
  private exited: Promise<number | null>;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    // Its own process group: Ctrl-C in a terminal reaches everything started there.
    this.child = spawn('bash', ['--noprofile', '--norc'], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const take = (d: Buffer) => {
      this.output += d.toString('utf8');
    };
    // Typing into a shell that already ended (a command failed) is reported by until(), not as EPIPE.
    this.child.stdin?.on('error', () => {});
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    // A reader stops at the first command that fails, so does the test.
    this.child.stdin?.write('set -e -o pipefail\n');
  }

  /** Types the block in; resolves when it ran to its end (for a block that ends). */
  async run(script: string): Promise<void> {
    const marker = `__block_done_${Math.random().toString(36).slice(2)}__`;
    this.child.stdin?.write(`${script}\necho ${marker}\n`);
    await this.until(marker, WAIT_FOR_OUTPUT_MS * 2);
  }

  start(script: string): void {
    this.child.stdin?.write(`${script}\n`);
  }

  /** Waits for `text` in the output; fails if the terminal's shell ended first (a command failed). */
  async until(text: string, timeoutMs = WAIT_FOR_OUTPUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.exited.then(() => {
      ended = true;
    });
    while (!this.output.includes(text)) {
      if (ended) assert.fail(`the terminal's shell ended before it printed "${text}":\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) assert.fail(`no "${text}" within ${timeoutMs / 1000}s:\n${this.output.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Ctrl-C, then closes the shell; SIGKILL for whatever is still there after 10 s. */
  async close(): Promise<void> {
    const group = this.child.pid;
    if (group === undefined || this.child.exitCode !== null) return;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-group, s);
      } catch {}
    };
    signal('SIGINT');
    this.child.stdin?.end('exit\n');
    const killer = setTimeout(() => signal('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
    signal('SIGKILL');
  }
}

test('the README quickstart, run as written, ends with the gateway running the release it committed', {
  timeout: TIMEOUT_MS,
}, async () => {
  const blocks = quickstartBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'));
  assert.deepEqual([...new Set(blocks.map((b) => b.terminal))].sort(), [1, 2, 3], 'the quickstart uses three terminals');
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'slipway-quickstart-'));
  // The reader's repository directory for terminals 2 and 3.
  const home = join(work, 'repo');
  mkdirSync(home);
  for (const entry of ['node_modules', 'packages', 'scripts', 'package.json']) symlinkSync(join(REPO, entry), join(home, entry));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(work, 'home'),
    NO_COLOR: '1',
    // Terminal 1 runs `npm start` in this repository; the server then keeps its data where terminals 2 and 3 look.
    SLIPWAY_DATA_DIR: join(home, 'slipway-data'),
    SLIPWAY_LISTEN: `127.0.0.1:${port}`,
  };
  mkdirSync(join(work, 'home'));
  const terminals = new Map<number, Terminal>();
  const terminal = (n: number) => {
    let t = terminals.get(n);
    if (!t) {
      t = new Terminal(n === 1 ? REPO : home, env);
      terminals.set(n, t);
    }
    return t;
  };
  try {
    for (const block of blocks) {
      const script = block.script.replaceAll('localhost:8443', `localhost:${port}`);
      const t = terminal(block.terminal);
      if (block.waitFor) {
        t.start(script);
        await t.until(block.waitFor);
      } else await t.run(script);
    }
    const shell = terminal(2).output;
    // The last block: the agent's own account of what it runs.
    assert.match(shell, /^installed:\s+gateway-os 1\.1/m, shell);
    assert.match(shell, /^boot:\s+slot b, committed/m, shell);
    const gateway = terminal(3).output;
    assert.match(gateway, /reboot: booted slot b \(trial boot 1 of 2\)/, gateway);
    const server = terminal(1).output;
    assert.doesNotMatch(server, /"level":50/, 'the server logged no errors');
  } finally {
    for (const n of [3, 2, 1]) await terminals.get(n)?.close();
    rmSync(work, { recursive: true, force: true });
  }
});

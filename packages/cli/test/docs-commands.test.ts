// Every `slipway` and `slipway-agent` command shown in the README, docs/ and examples/ must exist
// and accept the flags it is shown with: each is parsed for real with --help added, so the docs
// cannot drift from the code. What the commands would do is the other tests' business.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/dispatch.js';
import { readEnvironment } from '../src/cli/environment.js';
import { COMMANDS } from '../src/commands/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const AGENT = join(ROOT, 'packages/agent/dist/slipway-agent.mjs');

interface Shown {
  readonly where: string;
  readonly tool: 'slipway' | 'slipway-agent';
  readonly args: string[];
}

function documents(): string[] {
  const files = ['README.md'];
  const walk = (dir: string, keep: (name: string) => boolean) => {
    if (!existsSync(join(ROOT, dir))) return;
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path, keep);
      else if (keep(name)) files.push(path);
    }
  };
  walk('docs', (name) => name.endsWith('.md'));
  walk('examples', (name) => /\.(md|ya?ml|sh)$/.test(name));
  walk('packages', () => false);
  for (const pkg of readdirSync(join(ROOT, 'packages')))
    if (existsSync(join(ROOT, 'packages', pkg, 'README.md'))) files.push(`packages/${pkg}/README.md`);
  return files;
}

/** The lines that are shell: fenced blocks of Markdown, every line of YAML and shell files. */
function shellLines(file: string): { line: number; text: string }[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: { line: number; text: string }[] = [];
  let fenced = !file.endsWith('.md');
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] as string;
    if (file.endsWith('.md') && /^\s*```/.test(text)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) continue;
    const start = i;
    // A command continued over lines with a trailing backslash is one command.
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]?.trim() ?? ''}`;
    out.push({ line: start + 1, text });
  }
  return out;
}

/** Splits on the shell's separators and returns the slipway invocations, tokenised. */
function invocations(text: string): { tool: Shown['tool']; args: string[] }[] {
  const found: { tool: Shown['tool']; args: string[] }[] = [];
  const withoutComment = text.replace(/(^|\s)#(\s.*)?$/, '');
  // ` · ` separates commands listed on one line in the docs, as the shell's separators do; a `)`
  // before a space or the end closes a `$(…)`.
  for (const part of withoutComment.split(/\s\|\|?\s|&&|;|\$\(|\)(?=\s|$)|`|\s·\s/)) {
    const words = tokens(part.replace(/^\s*(-\s+|run:\s*|\$\s+)/, ''));
    while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0] as string)) words.shift();
    const head = words[0];
    if (head === 'slipway' || head === 'slipway-agent')
      for (const args of alternatives(clean(words.slice(1)))) found.push({ tool: head, args });
    else if (head === 'node' && /slipway(-agent)?\.mjs$/.test(words[1] ?? ''))
      found.push({ tool: /agent/.test(words[1] as string) ? 'slipway-agent' : 'slipway', args: clean(words.slice(2)) });
  }
  return found;
}

/** `deployments pause|resume ID` in the docs stands for each command: the words of the command path may list alternatives. */
function alternatives(args: string[]): string[][] {
  const at = args.findIndex((word, i) => i < 3 && !word.startsWith('-') && word.includes('|'));
  if (at < 0) return [args];
  return (args[at] as string).split('|').flatMap((word) => alternatives([...args.slice(0, at), word, ...args.slice(at + 1)]));
}

function tokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"[^"]*"|'[^']*'|\S+/g)) out.push(m[0]);
  return out;
}

/** Usage notation is not part of a command: `[--json]`, `--key K.pub...`, `…`. */
function clean(words: string[]): string[] {
  return words
    .map((w) => w.replace(/^\[+|\]+$/g, '').replace(/\.\.\.$/, ''))
    .filter((w) => w !== '' && w !== '…' && w !== '...' && !w.startsWith('>') && !w.startsWith('<') && w !== '2>&1');
}

function shown(): Shown[] {
  const all: Shown[] = [];
  for (const file of documents())
    for (const { line, text } of shellLines(file))
      for (const call of invocations(text)) all.push({ where: `${relative(ROOT, join(ROOT, file))}:${line}`, ...call });
  return all;
}

const sink = () => {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
};

describe('the commands shown in the docs', () => {
  const calls = shown();

  test('the docs show commands at all (the scan finds them)', () => {
    assert.ok(calls.filter((c) => c.tool === 'slipway').length > 50, `only ${calls.length} commands found`);
    assert.ok(calls.some((c) => c.tool === 'slipway-agent'));
  });

  test('every slipway command shown exists and accepts the flags it is shown with', async () => {
    const wrong: string[] = [];
    for (const call of calls.filter((c) => c.tool === 'slipway')) {
      if (call.args.length === 0 || call.args[0] === '--help') continue;
      const out = sink();
      const err = sink();
      const code = await runCli({
        argv: [...call.args, '--help'],
        commands: COMMANDS,
        env: readEnvironment({}),
        stdout: out.stream,
        stderr: err.stream,
      });
      if (code !== 0) wrong.push(`${call.where}: slipway ${call.args.join(' ')}\n    ${err.text().split('\n')[0]}`);
    }
    assert.deepEqual(wrong, [], `commands in the docs that the CLI refuses:\n${wrong.join('\n')}`);
  });

  test('every slipway-agent command shown parses', () => {
    const wrong: string[] = [];
    for (const call of calls.filter((c) => c.tool === 'slipway-agent')) {
      const result = spawnSync(process.execPath, [AGENT, ...call.args, '--help'], { encoding: 'utf8' });
      if (result.status !== 0) wrong.push(`${call.where}: slipway-agent ${call.args.join(' ')}\n    ${result.stderr.split('\n')[0]}`);
    }
    assert.deepEqual(wrong, [], `agent commands in the docs that it refuses:\n${wrong.join('\n')}`);
  });
});

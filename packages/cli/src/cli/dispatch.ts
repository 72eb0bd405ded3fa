import { parseArgs } from 'node:util';
import { isSlipwayError, SlipwayError } from '@slipway/core';
import type { Command, OptionSpec } from './command.js';
import type { CliEnvironment } from './environment.js';
import { createOutput } from './output.js';

export interface RunOptions {
  readonly argv: readonly string[];
  readonly commands: readonly Command[];
  readonly env: CliEnvironment;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly now?: Date;
  /** Where `--password-stdin` reads from (process.stdin by default). */
  readonly stdin?: NodeJS.ReadableStream;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
  help: { type: 'boolean', description: 'show this help' },
};

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** Finds the longest command path matching the first words of argv. */
function findCommand(commands: readonly Command[], argv: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const command of commands) {
    if (command.path.every((word, i) => argv[i] === word) && (!best || command.path.length > best.path.length)) best = command;
  }
  return best;
}

export function commandHelp(command: Command): string {
  const options = { ...command.options, ...GLOBAL_OPTIONS };
  const positionals = (command.positionals ?? []).map((p) => p.name).join(' ');
  const lines = [`Usage: slipway ${command.path.join(' ')}${positionals ? ` ${positionals}` : ''} [options]`, '', command.summary, ''];
  for (const p of command.positionals ?? []) lines.push(`  ${p.name.padEnd(28)} ${p.description}`);
  lines.push('Options:');
  for (const [name, spec] of Object.entries(options)) {
    const left = `--${name}${spec.value ? ` ${spec.value}` : ''}${spec.multiple ? '...' : ''}`;
    lines.push(`  ${left.padEnd(28)} ${spec.description}${spec.required ? ' (required)' : ''}`);
  }
  if (command.notes?.length) lines.push('', ...command.notes);
  return `${lines.join('\n')}\n`;
}

export function overviewHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length)) + 2;
  const lines = [
    'Usage: slipway <command> [options]',
    '',
    'Secure over-the-air updates: keys, trust roots and signed artifacts.',
    '',
    'Commands:',
  ];
  for (const c of commands) lines.push(`  ${c.path.join(' ').padEnd(width)} ${c.summary}`);
  lines.push(`  ${'server'.padEnd(width)} Run the update server (HTTPS, SQLite or PostgreSQL)`);
  lines.push('', 'Run `slipway <command> --help` for the options of a command.');
  return `${lines.join('\n')}\n`;
}

/**
 * Runs one CLI invocation and returns its exit code. Every failure becomes one line on stderr,
 * `SLW_CODE: message`; internals are shown only with SLIPWAY_DEBUG=1.
 */
/** Kept in a variable so the bundler leaves it alone: the CLI bundle never contains the server. */
const SERVER_PACKAGE = '@slipway/server';

interface ServerModule {
  main(
    argv: readonly string[],
    env: Readonly<Record<string, string | undefined>>,
    io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  ): Promise<number>;
}

/**
 * `slipway server` hands the rest of the command line to @slipway/server in this process. Every
 * other command talks to a server only over HTTP; only this one starts it.
 */
async function runServer(options: RunOptions): Promise<number> {
  let server: ServerModule;
  try {
    server = (await import(SERVER_PACKAGE)) as ServerModule;
  } catch {
    options.stderr.write('SLW_USAGE_UNKNOWN_COMMAND: slipway server needs the @slipway/server package, which is not installed here\n');
    return EXIT_USAGE;
  }
  return server.main(options.argv.slice(1), options.env.serverEnv, { stdout: options.stdout, stderr: options.stderr });
}

export async function runCli(options: RunOptions): Promise<number> {
  const { argv, commands, stderr } = options;
  if (argv[0] === 'server') return runServer(options);
  const wantsJson = argv.includes('--json');
  const fail = (err: SlipwayError, code: number) => {
    stderr.write(`${err.toLine()}\n`);
    if (wantsJson) options.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
    return code;
  };
  const command = findCommand(commands, argv);
  if (!command) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help' || argv[0] === '-h') {
      options.stdout.write(overviewHelp(commands));
      return argv.length === 0 ? EXIT_USAGE : 0;
    }
    const group = commands.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0 && (argv.length === 1 || argv[1] === '--help')) {
      options.stdout.write(overviewHelp(group));
      return argv.length === 1 ? EXIT_USAGE : 0;
    }
    const words = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    return fail(new SlipwayError('SLW_USAGE_UNKNOWN_COMMAND', `unknown command "${words}"; run slipway --help`), EXIT_USAGE);
  }
  const rest = argv.slice(command.path.length);
  const specs = { ...command.options, ...GLOBAL_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type, multiple: s.multiple ?? false }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : 'invalid arguments';
    return fail(new SlipwayError('SLW_USAGE_INVALID_OPTION', `${message} (see slipway ${command.path.join(' ')} --help)`), EXIT_USAGE);
  }
  if (parsed.values.help) {
    options.stdout.write(commandHelp(command));
    return 0;
  }
  const maxPositionals = command.positionals?.at(-1)?.variadic ? Number.POSITIVE_INFINITY : (command.positionals?.length ?? 0);
  if (parsed.positionals.length > maxPositionals) {
    return fail(new SlipwayError('SLW_USAGE_INVALID_OPTION', `unexpected argument "${parsed.positionals[maxPositionals]}"`), EXIT_USAGE);
  }
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.required && parsed.values[name] === undefined) {
      return fail(
        new SlipwayError('SLW_USAGE_MISSING_OPTION', `--${name} is required (see slipway ${command.path.join(' ')} --help)`),
        EXIT_USAGE,
      );
    }
  }
  const out = createOutput(parsed.values.json === true, options.stdout as never, stderr as never);
  try {
    return (
      (await command.run({
        values: parsed.values,
        positionals: parsed.positionals,
        out,
        env: options.env,
        now: options.now ?? new Date(),
        readStdin: () => readAll(options.stdin ?? process.stdin),
      })) ?? 0
    );
  } catch (err) {
    if (isSlipwayError(err)) return fail(err, err.code.startsWith('SLW_USAGE_') ? EXIT_USAGE : EXIT_FAILURE);
    if (options.env.debug) stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return fail(new SlipwayError('SLW_INTERNAL_ERROR', 'unexpected internal error (set SLIPWAY_DEBUG=1 for details)'), EXIT_FAILURE);
  }
}

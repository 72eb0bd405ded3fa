import type { CliEnvironment } from './environment.js';
import type { Output } from './output.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly required?: boolean;
  /** Placeholder shown in help, e.g. FILE. */
  readonly value?: string;
  readonly description: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  /** The last positional only: it takes every remaining argument. */
  readonly variadic?: boolean;
}

export interface CommandContext {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
  readonly out: Output;
  readonly env: CliEnvironment;
  readonly now: Date;
  /** All of standard input, for secrets that must not be flags (`--password-stdin`). */
  readStdin(): Promise<string>;
}

export interface Command {
  /** Words after `slipway`, e.g. ['artifact', 'create']. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Extra lines for --help: examples, notes. */
  readonly notes?: readonly string[];
  /** Resolves to the exit code (0 when omitted). */
  run(ctx: CommandContext): Promise<number | undefined>;
}

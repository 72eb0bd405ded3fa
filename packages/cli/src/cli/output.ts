import type { Writable } from 'node:stream';

/** Where a command prints: data to stdout (JSON with --json), progress and notes to stderr. */
export interface Output {
  readonly json: boolean;
  readonly stderrIsTty: boolean;
  readonly stdinIsTty: boolean;
  /** A human line on stdout (suppressed with --json). */
  line(text: string): void;
  /** The command's data: JSON on stdout with --json, nothing otherwise. */
  data(value: unknown): void;
  /** Bytes for stdout as they are (an export), whatever --json says. */
  raw(text: string): void;
  /** A note for the human on stderr (kept with --json, so stdout stays parseable). */
  note(text: string): void;
  readonly stderr: Writable;
}

export function createOutput(json: boolean, stdout: Writable & { isTTY?: boolean }, stderr: Writable & { isTTY?: boolean }): Output {
  return {
    json,
    stderrIsTty: stderr.isTTY === true,
    stdinIsTty: process.stdin.isTTY === true,
    line(text) {
      if (!json) stdout.write(`${text}\n`);
    },
    data(value) {
      if (json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    raw(text) {
      stdout.write(text);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
    stderr,
  };
}

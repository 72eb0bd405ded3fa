import { execFile } from 'node:child_process';
import { SlipwayError } from '@slipway/core';

/** A stuck tool (an MTD device that does not answer, a lock held forever) must not stall the update. */
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_REASON_CHARS = 200;

export interface ToolCommand {
  /** Program name or path; run without a shell. */
  command: string;
  args: readonly string[];
  /** The Debian package that provides the tool, named when it is missing. */
  debianPackage: string;
  timeoutMs: number;
}

/**
 * Runs a bootloader environment tool and returns its stdout. Every failure — not installed,
 * killed by the timeout, non-zero exit — becomes one SLW_BOOT_ENV_FAILED line naming the tool
 * and the first line(s) of what it printed on stderr.
 */
export function runTool({ command, args, debianPackage, timeoutMs }: ToolCommand): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) {
          resolve(stdout);
          return;
        }
        const failure = err as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null; code?: unknown };
        let reason: string;
        if (failure.code === 'ENOENT') {
          reason = `${command} cannot be run (ENOENT): install ${debianPackage}`;
        } else if (failure.code === 'EACCES') {
          reason = `${command} cannot be run (EACCES): it is not executable`;
        } else if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          reason = `${command} printed more than ${MAX_OUTPUT_BYTES} bytes`;
        } else if (failure.killed && failure.signal) {
          reason = `${command} did not finish within ${timeoutMs} ms`;
        } else {
          const status = typeof failure.code === 'number' ? `exit ${failure.code}` : `signal ${failure.signal ?? 'unknown'}`;
          reason = `${command} failed (${status}): ${firstLines(stderr) || firstLines(stdout) || 'no message'}`;
        }
        reject(
          new SlipwayError('SLW_BOOT_ENV_FAILED', reason, {
            cause: err,
            details: { tool: command, args: [...args], stderr: stderr.slice(0, 4096) },
          }),
        );
      },
    );
  });
}

/**
 * The first line of `text`, then the others after "; " while they fit: libubootenv prints a
 * generic first line ("Cannot read environment, using default") and the reason on the next.
 */
function firstLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  let reason = lines.shift() ?? '';
  for (const line of lines) {
    if (reason.length + line.length + 2 > MAX_REASON_CHARS) break;
    reason = `${reason}; ${line}`;
  }
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
}

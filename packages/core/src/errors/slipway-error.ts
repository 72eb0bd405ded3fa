import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export interface SlipwayErrorOptions {
  cause?: unknown;
  /** Structured, non-secret facts for logs and `--json` output. */
  details?: Record<string, unknown>;
}

/** The one base class for every error Slipway throws on purpose. */
export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: SlipwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  /** One line for a terminal or a log: `SLW_X_Y: message`. */
  toLine(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function isSlipwayError(value: unknown): value is SlipwayError {
  return value instanceof SlipwayError;
}

/** Maps a Node.js file-system error onto a coded error that names the path. */
export function fileError(err: unknown, path: string, action: 'read' | 'write' | 'open'): SlipwayError {
  if (err instanceof SlipwayError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOENT') return new SlipwayError('SLW_IO_NOT_FOUND', `${path}: no such file`, { cause: err });
  if (errno === 'EEXIST') return new SlipwayError('SLW_IO_EXISTS', `${path} already exists (use --force to replace it)`, { cause: err });
  if (errno === 'EISDIR') return new SlipwayError('SLW_IO_NOT_A_FILE', `${path} is a directory, not a file`, { cause: err });
  const reason = errno ?? 'I/O error';
  return new SlipwayError('SLW_IO_FAILED', `cannot ${action} ${path} (${reason})`, { cause: err });
}

import { type ChunkSource, ERROR_CODES, type ErrorCode, SlipwayError } from '@slipway/core';
import { BodyConnection } from './body-connection.js';

export interface DownloadOptions {
  readonly url: string;
  /** PEM of the CA the server must chain to (pinned; the system store is not used). */
  readonly ca: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly clientCertificate?: { readonly cert: string; readonly key: string };
  /** Headers for every request (the device token), asked for again on each resume. */
  readonly headers: () => Promise<Record<string, string>> | Record<string, string>;
  /**
   * The size the offer announced: more bytes than this are never read. Absent (a plain URL given
   * to a standalone install): the first answer's Content-Length, which must be there.
   */
  readonly expectedSize?: number;
  /** Resumes allowed after dropped or stalled connections (default 10). */
  readonly maxResumes?: number;
  /** A connection slower than this over `stallWindowMs` counts as stalled (default 1 KiB/s over 30 s). */
  readonly minBytesPerSecond?: number;
  readonly stallWindowMs?: number;
  /** The whole download must finish within this (default: no limit). */
  readonly totalTimeoutMs?: number;
  /** Aborts the download (the server aborted the deployment, the agent stops). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (received: number, total: number) => void;
  /** Wait before resume `n` (1, 2, …); default 1 s doubling, at most 30 s. */
  readonly backoff?: (n: number) => Promise<void>;
}

const defaultBackoff = (n: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** (n - 1))));

/**
 * An HTTPS download as a ChunkSource for the artifact reader: bytes flow straight from the socket
 * into verification, never buffered whole, through a fixed ring of buffers (see BodyConnection),
 * so a returned chunk is borrowed until the next call to `next()`, as the interface says. A
 * dropped or stalled connection is resumed where it stopped with `Range` and `If-Range` (the first
 * answer's ETag), so the reader, which hashes as bytes flow, sees one unbroken stream; a server
 * whose file changed in between (200 instead of 206) fails the download rather than splicing two
 * files.
 */
export class ResumableDownload implements ChunkSource {
  private received = 0;
  private resumes = 0;
  private etag: string | undefined;
  private connection: BodyConnection | undefined;
  /** The wait for the socket's next event, kept across stall windows so it is never issued twice. */
  private pending: Promise<void> | undefined;
  private readonly deadline: number;
  private windowStart = Date.now();
  private windowBytes = 0;

  private expectedSize: number;

  constructor(private readonly options: DownloadOptions) {
    this.expectedSize = options.expectedSize ?? Number.POSITIVE_INFINITY;
    this.deadline = options.totalTimeoutMs ? Date.now() + options.totalTimeoutMs : Number.POSITIVE_INFINITY;
  }

  async next(): Promise<Uint8Array | null> {
    for (;;) {
      this.checkAborted();
      if (this.received >= this.expectedSize) {
        await this.close();
        return null;
      }
      try {
        if (!this.connection) await this.connect();
        const chunk = await this.readChunk();
        if (chunk === null) throw new Error('the connection ended early');
        const room = this.expectedSize - this.received;
        // Never past the announced size: the rest of an over-long answer is not read.
        const bytes = chunk.length > room ? chunk.subarray(0, room) : chunk;
        this.received += bytes.length;
        this.windowBytes += bytes.length;
        this.options.onProgress?.(this.received, this.expectedSize);
        if (chunk.length > room) await this.close();
        return bytes;
      } catch (err) {
        await this.drop();
        if (err instanceof SlipwayError && !err.retryable) throw err;
        this.checkAborted();
        if (++this.resumes > (this.options.maxResumes ?? 10) || Date.now() > this.deadline)
          throw new SlipwayError(
            'SLW_DOWNLOAD_FAILED',
            `the download stopped at ${this.received} of ${this.expectedSize} bytes after ${this.resumes - 1} resumes: ${(err as Error).message}`,
            { cause: err },
          );
        await (this.options.backoff ?? defaultBackoff)(this.resumes);
      }
    }
  }

  async close(): Promise<void> {
    await this.drop();
  }

  private async connect(): Promise<void> {
    const headers: Record<string, string> = { ...(await this.options.headers()) };
    if (this.received > 0) {
      headers.range = `bytes=${this.received}-`;
      if (this.etag) headers['if-range'] = this.etag;
    }
    const response = await BodyConnection.open(new URL(this.options.url), {
      ca: this.options.ca,
      headers,
      ...(this.options.clientCertificate ?? {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      headTimeoutMs: this.options.stallWindowMs ?? 30_000,
    });
    const status = response.status;
    if (status >= 400) throw await serverError(response, this.options.stallWindowMs ?? 30_000);
    if (this.received > 0 && status !== 206) {
      response.destroy();
      throw new SlipwayError('SLW_DOWNLOAD_CHANGED', 'the file behind the link changed while it was being downloaded; start again');
    }
    if (this.received > 0) {
      const start = /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''))?.[1];
      if (Number(start) !== this.received) {
        response.destroy();
        throw new SlipwayError(
          'SLW_DOWNLOAD_CHANGED',
          `asked to resume at byte ${this.received}, the server answered from ${start ?? '?'}`,
        );
      }
    } else if (status !== 200) {
      response.destroy();
      throw new SlipwayError('SLW_DOWNLOAD_FAILED', `the server answered HTTP ${status} to a download`);
    } else if (this.options.expectedSize === undefined && this.expectedSize === Number.POSITIVE_INFINITY) {
      const length = Number(response.headers['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) {
        response.destroy();
        throw new SlipwayError('SLW_DOWNLOAD_FAILED', 'the server did not say how long the file is (no Content-Length)');
      }
      this.expectedSize = length;
    }
    this.etag ??= typeof response.headers.etag === 'string' ? response.headers.etag : undefined;
    this.connection = response;
    this.windowStart = Date.now();
    this.windowBytes = 0;
  }

  /**
   * The next chunk, or an error when the connection stalls: fewer than the minimum bytes over a
   * window of `stallWindowMs`, or the total deadline passed. Bytes already in are taken without a
   * wait (no timer, no promise per chunk); only an empty ring waits, raced against the window.
   */
  private async readChunk(): Promise<Buffer | null> {
    const window = this.options.stallWindowMs ?? 30_000;
    const minimum = ((this.options.minBytesPerSecond ?? 1024) * window) / 1000;
    const connection = this.connection as BodyConnection;
    for (;;) {
      const now = Date.now();
      if (now > this.deadline) throw new SlipwayError('SLW_DOWNLOAD_FAILED', 'the download took longer than its total time limit');
      if (now - this.windowStart >= window) {
        if (this.windowBytes < minimum) throw new Error(`slower than ${this.options.minBytesPerSecond ?? 1024} bytes/s`);
        this.windowStart = now;
        this.windowBytes = 0;
      }
      const chunk = connection.read();
      if (chunk !== undefined) {
        this.pending = undefined;
        return chunk;
      }
      this.pending ??= connection.arrival();
      let timer: NodeJS.Timeout | undefined;
      const closes = new Promise<'window'>((resolve) => {
        timer = setTimeout(() => resolve('window'), Math.max(1, this.windowStart + window - now));
      });
      const result = await Promise.race([this.pending, closes]).finally(() => clearTimeout(timer));
      if (result !== 'window') this.pending = undefined;
    }
  }

  private async drop(): Promise<void> {
    this.connection?.destroy();
    this.connection = undefined;
    // A wait left on the dropped connection settles unobserved (its close wakes it).
    this.pending = undefined;
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new SlipwayError('SLW_DOWNLOAD_ABORTED', 'the download was stopped');
  }
}

/** A server's coded error (its own JSON), so SLW_DEPLOYMENT_ABORTED and friends reach the agent as they are. */
async function serverError(response: BodyConnection, waitMs: number): Promise<SlipwayError> {
  let text = '';
  try {
    for (let chunk = response.read(); chunk !== null && text.length <= 4096; chunk = response.read()) {
      if (chunk !== undefined) text += chunk.toString('utf8');
      else if ((await Promise.race([response.arrival(), sleep(waitMs)])) === 'timeout') break;
    }
  } catch {
    // What arrived is all there is to go on.
  }
  response.destroy();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    const code = body.error?.code;
    if (code !== undefined && isErrorCode(code)) return new SlipwayError(code, body.error?.message ?? `HTTP ${response.status}`);
  } catch {}
  const retryable = response.status >= 500 || response.status === 429;
  return new SlipwayError(
    retryable ? 'SLW_DOWNLOAD_FAILED' : 'SLW_DOWNLOAD_DENIED',
    `the server answered HTTP ${response.status} to a download`,
  );
}

/** Resolves 'timeout' after `ms`, without keeping the process alive for it. */
const sleep = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

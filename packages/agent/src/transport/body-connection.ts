// The body of one HTTPS answer read straight off TLS into a fixed ring of blocks: node's HTTP
// client allocates per TLS record and copies again in its parser, which at hundreds of MiB/s is
// most of the agent's memory and time (bench:agent). Used by resumable-download.ts only.
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { isIP, type OnReadOpts } from 'node:net';
import { connect, type TLSSocket, type ConnectionOptions as TlsOptions } from 'node:tls';
import { SlipwayError } from '@slipway/core';

/** Body bytes are copied into blocks of this size; a chunk handed out is at most one block. */
const BLOCK_BYTES = 128 * 1024;
/** One block lent to the reader, the others filling while it hashes and writes; the kernel's socket buffer holds the rest. */
const RING_BLOCKS = 3;
/**
 * The socket is paused when less room than this is left: after a pause, TLS still hands over the
 * records it decrypted from the last TCP read (up to 64 KiB; 48 KiB measured).
 */
const PAUSE_MARGIN_BYTES = 128 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
/** What TLS decrypts lands here first, one record (at most 16 KiB) at a time. */
const READ_BYTES = 32 * 1024;

export interface ConnectionOptions {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly headers: Record<string, string>;
  readonly signal?: AbortSignal;
  /** The answer's head must arrive within this. */
  readonly headTimeoutMs: number;
}

/**
 * One `GET` over TLS (HTTP/1.1, `Connection: close`, the body framed by Content-Length, chunked
 * encoding or the end of the connection) whose body is read into a fixed ring of buffers. Node's
 * HTTP client allocates a buffer per TLS record (16 KiB) and its parser copies each into another;
 * that garbage waits for the next scavenge, and at hundreds of MiB/s it put the agent's peak RSS
 * 15 to 35 MiB above its size at the start of the download (bench/agent.bench.mjs, 1 GiB). Here
 * TLS decrypts into one buffer (`onread`), the bytes are copied into the ring, and the socket is
 * paused while the ring is full: memory stays flat whatever the download's size or speed. A chunk
 * from `read()` is valid until the next `read()`.
 */
export class BodyConnection {
  private readonly readBuffer = Buffer.allocUnsafeSlow(READ_BYTES);
  private readonly free: Buffer[] = Array.from({ length: RING_BLOCKS }, () => Buffer.allocUnsafeSlow(BLOCK_BYTES));
  private readonly ready: { block: Buffer; length: number }[] = [];
  private filling: Buffer | undefined;
  private filled = 0;
  private lent: Buffer | undefined;
  private head: Buffer | undefined = Buffer.alloc(0);
  private bodyBytes = 0;
  private contentLength = Number.POSITIVE_INFINITY;
  private chunked: { state: 'size' | 'data' | 'dataEnd' | 'trailer'; left: number; line: string } | undefined;
  private ended = false;
  private paused = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly socket: TLSSocket;
  /** Settles when the answer's head is in (or the connection failed first). */
  private readonly opened: Promise<void>;
  private readonly headOpened: { resolve: () => void; reject: (err: Error) => void };
  status = 0;
  /** Lower-case names; no prototype, so no header name can reach one. */
  headers: Record<string, string> = Object.create(null);

  private constructor(url: URL, options: ConnectionOptions) {
    if (url.protocol !== 'https:') throw new SlipwayError('SLW_DOWNLOAD_DENIED', `a download must use https://, not ${url.protocol}`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const request = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close', 'accept-encoding: identity'];
    for (const [name, value] of Object.entries(options.headers)) {
      // Throws on a CR or LF: nothing can be smuggled into the request.
      validateHeaderName(name);
      validateHeaderValue(name, value);
      request.push(`${name}: ${value}`);
    }
    let opened!: { resolve: () => void; reject: (err: Error) => void };
    this.opened = new Promise<void>((resolve, reject) => {
      opened = { resolve, reject };
    });
    this.headOpened = opened;
    // `onread` is documented for tls.connect (as for net.connect) but missing from @types/node's TLS options.
    const tls: TlsOptions & { onread: OnReadOpts } = {
      host,
      port: Number(url.port || 443),
      // SNI and the certificate check use the host name; an address is checked against the certificate's IPs.
      ...(isIP(host) ? {} : { servername: host }),
      ca: options.ca,
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
      // No view per TLS record: the callback copies from the read buffer by offsets.
      onread: { buffer: this.readBuffer, callback: (length) => this.onRead(length) },
    };
    this.socket = connect(tls);
    const abort = () => this.socket.destroy(new Error('the download was stopped'));
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    this.socket.setTimeout(options.headTimeoutMs, () => this.socket.destroy(new Error('no answer')));
    this.socket.once('secureConnect', () => this.socket.write(`${request.join('\r\n')}\r\n\r\n`));
    this.socket.on('error', (err) => {
      this.failure ??= err;
      this.signal();
    });
    this.socket.once('close', () => {
      options.signal?.removeEventListener('abort', abort);
      if (this.head) opened.reject(this.failure ?? new Error('the connection closed before the answer'));
      this.ended = true;
      this.signal();
    });
    this.opened.then(
      () => this.socket.setTimeout(0),
      () => undefined,
    );
  }

  /** Connects, sends the request and resolves once the answer's status and headers are in. */
  static async open(url: URL, options: ConnectionOptions): Promise<BodyConnection> {
    const connection = new BodyConnection(url, options);
    await connection.opened;
    return connection;
  }

  /**
   * The next bytes of the body (at most one block), null at its end, or undefined when none have
   * arrived yet (then wait for `arrival()`). Gives back the block lent by the previous call, so
   * that chunk must no longer be in use. Throws the connection's failure once the bytes that
   * arrived before it are taken (a resume starts after them).
   */
  read(): Buffer | null | undefined {
    if (this.lent) this.free.push(this.lent);
    this.lent = undefined;
    if (this.paused && this.room() >= PAUSE_MARGIN_BYTES && !this.socket.destroyed) {
      this.paused = false;
      this.socket.resume();
    }
    const next = this.ready.shift();
    if (next) return this.lend(next.block, next.length);
    // The network is the slower side: hand over what is there rather than wait for a full block.
    if (this.filling && this.filled > 0) {
      const [block, length] = [this.filling, this.filled];
      this.filling = undefined;
      this.filled = 0;
      return this.lend(block, length);
    }
    if (this.failure && !this.complete()) throw this.failure;
    if (this.ended || this.complete()) return null;
    return undefined;
  }

  /** Resolves at the socket's next event: bytes, its end or its failure. */
  arrival(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private lend(block: Buffer, length: number): Buffer {
    this.lent = block;
    return block.subarray(0, length);
  }

  private complete(): boolean {
    return this.bodyBytes >= this.contentLength;
  }

  private room(): number {
    return (this.filling ? BLOCK_BYTES - this.filled : 0) + this.free.length * BLOCK_BYTES;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Called by the socket when TLS decrypted `length` bytes into the read buffer; false pauses it. */
  private onRead(length: number): boolean {
    try {
      if (this.head) {
        const head = Buffer.concat([this.head, this.readBuffer.subarray(0, length)]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_HEAD_BYTES) throw new Error(`the answer's head is longer than ${MAX_HEAD_BYTES} bytes`);
          this.head = head;
          return true;
        }
        this.parseHead(head.subarray(0, end).toString('latin1'));
        this.head = undefined;
        this.headOpened.resolve();
        this.body(head, end + 4, head.length);
      } else this.body(this.readBuffer, 0, length);
    } catch (err) {
      // An answer that cannot be read fails the connection (and, before its head, the open).
      this.socket.destroy(err as Error);
      return false;
    }
    this.signal();
    this.paused = this.room() < PAUSE_MARGIN_BYTES;
    return !this.paused;
  }

  private parseHead(text: string): void {
    const [statusLine = '', ...lines] = text.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine)?.[1];
    if (!status) throw new Error(`the answer is not HTTP/1.1: ${JSON.stringify(statusLine.slice(0, 64))}`);
    this.status = Number(status);
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`the answer has a malformed header line: ${JSON.stringify(line.slice(0, 64))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      this.headers[name] = name in this.headers ? `${this.headers[name]}, ${value}` : value;
    }
    const encoding = this.headers['transfer-encoding']?.toLowerCase();
    // Chunked framing wins over Content-Length (RFC 9112 6.3); node's own servers send errors so.
    if (encoding === 'chunked') this.chunked = { state: 'size', left: 0, line: '' };
    else if (encoding !== undefined && encoding !== 'identity') throw new Error(`the answer uses Transfer-Encoding ${encoding}`);
    const length = this.headers['content-length'];
    if (!this.chunked && length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error(`the answer has an invalid Content-Length: ${JSON.stringify(length)}`);
      this.contentLength = Number(length);
    }
  }

  /** Body bytes `from`..`to` of `bytes`, as they arrived: undone from chunked framing when the answer uses it. */
  private body(bytes: Buffer, from: number, to: number): void {
    const c = this.chunked;
    if (!c) {
      this.take(bytes, from, to);
      return;
    }
    for (let i = from; i < to && !this.complete(); ) {
      if (c.state === 'data') {
        const n = Math.min(c.left, to - i);
        this.take(bytes, i, i + n);
        i += n;
        c.left -= n;
        if (c.left === 0) c.state = 'dataEnd';
        continue;
      }
      // The other states read a line: a chunk size, the CRLF after a chunk, a trailer.
      const lf = bytes.subarray(0, to).indexOf(0x0a, i);
      const end = lf < 0 ? to : lf;
      c.line += bytes.toString('latin1', i, end);
      if (c.line.length > 4096) throw new Error('the answer has a chunk line longer than 4096 bytes');
      if (lf < 0) break;
      i = lf + 1;
      const line = c.line.replace(/\r$/, '');
      c.line = '';
      if (c.state === 'size') {
        const size = /^([0-9a-f]{1,12})[ \t]*(;.*)?$/i.exec(line)?.[1];
        if (size === undefined) throw new Error(`the answer has a malformed chunk size: ${JSON.stringify(line.slice(0, 64))}`);
        c.left = Number.parseInt(size, 16);
        c.state = c.left === 0 ? 'trailer' : 'data';
      } else if (c.state === 'dataEnd') {
        if (line !== '') throw new Error('the answer has a chunk longer than its size');
        c.state = 'size';
      } else if (line === '') this.contentLength = this.bodyBytes; // the last chunk and its trailers: the body is complete
    }
  }

  /** Copies body bytes `from`..`to` of `bytes` into the ring; a full block joins the ready queue. */
  private take(bytes: Buffer, from: number, to: number): void {
    const end = Math.min(to, from + Math.max(0, this.contentLength - this.bodyBytes));
    this.bodyBytes += end - from;
    for (let offset = from; offset < end; ) {
      // Past the pause margin the ring grows by a block rather than lose bytes (not seen in practice).
      this.filling ??= this.free.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
      const copied = bytes.copy(this.filling, this.filled, offset, Math.min(end, offset + BLOCK_BYTES - this.filled));
      this.filled += copied;
      offset += copied;
      if (this.filled === BLOCK_BYTES) {
        this.ready.push({ block: this.filling, length: this.filled });
        this.filling = undefined;
        this.filled = 0;
      }
    }
  }
}

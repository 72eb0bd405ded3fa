import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ERROR_CODES, type ErrorCode, fileError, SlipwayError } from '@slipway/core';
import type { ServerTarget } from './server-session.js';

const TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const TLS_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;

function isCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * One management API call. The server is verified against the pinned CA (or the system's CAs);
 * a server error comes back as the same coded error the server raised.
 */
/** A file sent as the request body, streamed from disk (an artifact upload), never read into memory. */
export class FileBody {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly onProgress?: (sent: number, total: number) => void,
  ) {}
}

/** Uploads may wait long for an answer: the server verifies every byte before it replies. */
const UPLOAD_TIMEOUT_MS = 30 * 60_000;

export async function callServer(
  target: ServerTarget,
  method: string,
  path: string,
  body?: unknown,
  options: { auth?: boolean } = {},
): Promise<unknown> {
  let base: URL;
  try {
    base = new URL(target.server);
  } catch {
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `server ${JSON.stringify(target.server)} is not a URL like https://host:8443`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `server ${target.server}: use https://`);
  let ca: string | undefined;
  if (target.caFile !== undefined) {
    try {
      ca = await readFile(target.caFile, 'utf8');
    } catch (err) {
      throw fileError(err, target.caFile, 'read');
    }
  }
  if ((options.auth ?? true) && target.token === undefined) {
    throw new SlipwayError('SLW_SERVER_NOT_LOGGED_IN', 'not logged in: run slipway login, or set SLIPWAY_TOKEN');
  }
  const file = body instanceof FileBody ? body : undefined;
  const payload = body === undefined || file ? undefined : JSON.stringify(body);
  const url = new URL(`/api/management/v1${path}`, base);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (file) {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(file.size);
  }
  if ((options.auth ?? true) && target.token) headers.authorization = `Bearer ${target.token}`;
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = send(url, { method, headers, timeout: file ? UPLOAD_TIMEOUT_MS : TIMEOUT_MS, ...(ca ? { ca } : {}) }, (res) => {
      let received = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) req.destroy(new Error('response too large'));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (!file) {
      req.end(payload);
      return;
    }
    let sent = 0;
    const source = createReadStream(file.path);
    source.on('data', (chunk) => {
      sent += chunk.length;
      file.onProgress?.(sent, file.size);
    });
    source.on('error', (err) => req.destroy(err));
    source.pipe(req);
  }).catch((err: NodeJS.ErrnoException) => {
    const code = String(err.code ?? err.message);
    if (TLS_ERRORS.test(code)) {
      throw new SlipwayError(
        'SLW_SERVER_TLS_UNTRUSTED',
        `${base.host} presented a certificate the CA does not vouch for (${code}); pass --ca with the server's ca.pem`,
        { cause: err },
      );
    }
    throw new SlipwayError('SLW_SERVER_UNREACHABLE', `cannot reach ${base.host} (${code})`, { cause: err });
  });
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new SlipwayError('SLW_SERVER_RESPONSE', `${base.host} answered HTTP ${status} with something that is not JSON`);
    }
  }
  if (status >= 200 && status < 300) return json;
  const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && isCode(error.code)) throw new SlipwayError(error.code, String(error.message ?? 'request failed'));
  throw new SlipwayError('SLW_SERVER_RESPONSE', `${base.host} answered HTTP ${status}`);
}

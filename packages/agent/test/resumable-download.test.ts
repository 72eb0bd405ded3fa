import assert from 'node:assert/strict';

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SlipwayError } from '@slipway/core';
import { opensslSelfSigned } from '@slipway/testkit';
import { ResumableDownload } from '../src/transport/resumable-download.js';

const FILE = randomBytes(3 * 1024 * 1024 + 17);
const ETAG = `"${createHash('sha256').update(FILE).digest('hex')}"`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** How the test server misbehaves on each request, in order. */
type Behaviour = {
  cutAfter?: number;
  stallAfter?: number;
  status?: number;
  body?: string;
  etag?: string;
  extra?: number;
  /** Send without Content-Length, in pieces: HTTP/1.1 chunked encoding, as node's server does for streamed answers. */
  chunked?: boolean;
};

describe('resumable downloads', () => {
  let dir: string;
  let ca: string;
  let server: Server;
  let url: string;
  let plan: Behaviour[] = [];
  const ranges: (string | undefined)[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-download-'));
    opensslSelfSigned({
      keyOut: join(dir, 'key.pem'),
      certOut: join(dir, 'cert.pem'),
      subject: '/CN=localhost',
      subjectAltName: 'DNS:localhost',
      days: 1,
    });
    ca = await readFile(join(dir, 'cert.pem'), 'utf8');
    server = createServer({ key: await readFile(join(dir, 'key.pem')), cert: ca }, (req, res) => {
      ranges.push(req.headers.range);
      const behaviour = plan.shift() ?? {};
      if (behaviour.status) {
        res.writeHead(behaviour.status, { 'content-type': 'application/json' });
        const text = behaviour.body ?? '';
        if (behaviour.chunked) res.write(text.slice(0, 5));
        res.end(behaviour.chunked ? text.slice(5) : text);
        return;
      }
      const etag = behaviour.etag ?? ETAG;
      const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const honourRange = match && (req.headers['if-range'] === undefined || req.headers['if-range'] === etag);
      const start = honourRange ? Number(match[1]) : 0;
      const body = Buffer.concat([FILE.subarray(start), Buffer.alloc(behaviour.extra ?? 0, 1)]);
      if (behaviour.chunked) {
        res.writeHead(honourRange ? 206 : 200, { etag });
        for (let at = 0; at < body.length; at += 700_001) res.write(body.subarray(at, at + 700_001));
        res.end();
        return;
      }
      res.writeHead(honourRange ? 206 : 200, {
        etag,
        'content-length': body.length,
        ...(honourRange ? { 'content-range': `bytes ${start}-${FILE.length - 1}/${FILE.length}` } : {}),
      });
      const limit = behaviour.cutAfter ?? behaviour.stallAfter;
      if (limit === undefined) {
        res.end(body);
        return;
      }
      res.write(body.subarray(0, limit), () => {
        if (behaviour.cutAfter !== undefined) res.socket?.destroy();
        // A stall: the connection stays open and silent until the client gives up on it.
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://localhost:${(server.address() as AddressInfo).port}/artifact`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const download = async (options: Partial<ConstructorParameters<typeof ResumableDownload>[0]> = {}) => {
    const source = new ResumableDownload({
      url,
      ca,
      headers: () => ({ authorization: 'Bearer device-token' }),
      expectedSize: FILE.length,
      backoff: async () => {},
      ...options,
    });
    const chunks: Buffer[] = [];
    for (let chunk = await source.next(); chunk !== null; chunk = await source.next()) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  };
  const code = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return (err as SlipwayError).code;
    }
    return 'no error';
  };

  test('a download cut off three times resumes with Range and gives identical bytes', async () => {
    plan = [{ cutAfter: 500_000 }, { cutAfter: 700_000 }, { cutAfter: 1000 }];
    ranges.length = 0;
    const bytes = await download();
    assert.equal(sha(bytes), sha(FILE));
    assert.equal(ranges[0], undefined);
    assert.deepEqual(
      ranges.slice(1).map((r) => /^bytes=\d+-$/.test(r ?? '')),
      [true, true, true],
    );
  });

  test('a plain URL with no announced size takes it from the first answer and still resumes', async () => {
    plan = [{ cutAfter: 800_000 }];
    const source = new ResumableDownload({ url, ca, headers: () => ({}), backoff: async () => {} });
    const chunks: Buffer[] = [];
    for (let chunk = await source.next(); chunk !== null; chunk = await source.next()) chunks.push(Buffer.from(chunk));
    assert.equal(sha(Buffer.concat(chunks)), sha(FILE));
  });

  test('a stalled connection is dropped and resumed', async () => {
    plan = [{ stallAfter: 100_000 }];
    const bytes = await download({ stallWindowMs: 300, minBytesPerSecond: 100_000 });
    assert.equal(sha(bytes), sha(FILE));
  });

  test('a file that changed between resumes fails instead of splicing two files', async () => {
    plan = [{ cutAfter: 100_000 }, { etag: '"another"' }];
    assert.equal(await code(download()), 'SLW_DOWNLOAD_CHANGED');
  });

  test('the server aborting the deployment reaches the agent as its coded error', async () => {
    plan = [{ cutAfter: 100_000 }, { status: 409, body: JSON.stringify({ error: { code: 'SLW_DEPLOYMENT_ABORTED', message: 'stop' } }) }];
    assert.equal(await code(download()), 'SLW_DEPLOYMENT_ABORTED');
  });

  test('an answer in chunked encoding gives the same bytes, and a coded error sent chunked still reaches the agent', async () => {
    plan = [{ chunked: true }];
    assert.equal(sha(await download()), sha(FILE));
    plan = [{ status: 409, chunked: true, body: JSON.stringify({ error: { code: 'SLW_DEPLOYMENT_ABORTED', message: 'stop' } }) }];
    assert.equal(await code(download()), 'SLW_DEPLOYMENT_ABORTED');
  });

  test('a server the pinned CA did not vouch for gets no request and gives no byte', async () => {
    opensslSelfSigned({
      keyOut: join(dir, 'other.key'),
      certOut: join(dir, 'other.pem'),
      subject: '/CN=localhost',
      subjectAltName: 'DNS:localhost',
      days: 1,
    });
    const requests = ranges.length;
    assert.equal(await code(download({ ca: await readFile(join(dir, 'other.pem'), 'utf8'), maxResumes: 1 })), 'SLW_DOWNLOAD_FAILED');
    assert.equal(ranges.length, requests, 'the TLS handshake failed before any request reached the server');
  });

  test('too many broken connections end with a retryable SLW_DOWNLOAD_FAILED', async () => {
    plan = Array.from({ length: 5 }, () => ({ cutAfter: 10 }));
    assert.equal(await code(download({ maxResumes: 3 })), 'SLW_DOWNLOAD_FAILED');
  });

  test('bytes past the announced size are never read', async () => {
    plan = [{ extra: 4096 }];
    const bytes = await download();
    assert.equal(bytes.length, FILE.length);
  });

  test('an abort signal stops the download', async () => {
    const controller = new AbortController();
    plan = [{ stallAfter: 1000 }];
    const started = download({ signal: controller.signal, stallWindowMs: 60_000 });
    setTimeout(() => controller.abort(), 100);
    assert.equal(await code(started), 'SLW_DOWNLOAD_ABORTED');
  });
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/index.js';
import { API, type TestApp, testApp } from './support/app.js';
import { sqliteDatabase, type TestDatabase } from './support/databases.js';

const INDEX = '<!doctype html><title>Slipway</title><script type="module" src="/assets/app-abc.js"></script>';
const SCRIPT = 'console.log("slipway");';
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function capture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, sink };
}

describe('web UI', () => {
  let target: TestDatabase;
  let t: TestApp;
  let dir: string;
  before(async () => {
    target = await sqliteDatabase();
    dir = await mkdtemp(join(tmpdir(), 'slipway-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-abc.js'), SCRIPT);
    await writeFile(join(dir, 'assets', 'style-abc.css'), 'body{}');
    await writeFile(join(dir, 'secret.txt'), 'outside the UI');
    await symlink(join(dir, 'secret.txt'), join(dir, 'assets', 'linked.js'));
    await writeFile(join(dir, 'assets', 'huge.js'), Buffer.alloc(5 * 1024 * 1024 + 1, 0x20));
    t = await testApp(target, { webDir: dir });
  });
  after(async () => {
    await t.close();
    await target.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('serves index.html at / with the content security policy and no-cache', async () => {
    for (const url of ['/', '/index.html']) {
      const response = await t.app.inject({ url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.body, INDEX);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.equal(response.headers['cache-control'], 'no-cache');
      assert.equal(response.headers['content-security-policy'], CSP);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.equal(response.headers['x-frame-options'], 'DENY');
    }
  });

  test('serves an asset as text/javascript, cached for good', async () => {
    const response = await t.app.inject({ url: '/assets/app-abc.js' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, SCRIPT);
    assert.match(String(response.headers['content-type']), /^text\/javascript/);
    assert.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(response.headers['content-security-policy'], CSP);
    assert.match(String((await t.app.inject({ url: '/assets/style-abc.css' })).headers['content-type']), /^text\/css/);
  });

  test('answers 304 when the ETag matches, and the body again when it does not', async () => {
    const first = await t.app.inject({ url: '/assets/app-abc.js' });
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[A-Za-z0-9_-]{43}"$/);
    const again = await t.app.inject({ url: '/assets/app-abc.js', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers['content-security-policy'], CSP);
    const weak = await t.app.inject({ url: '/assets/app-abc.js', headers: { 'if-none-match': `"other", W/${etag}` } });
    assert.equal(weak.statusCode, 304);
    const changed = await t.app.inject({ url: '/assets/app-abc.js', headers: { 'if-none-match': '"other"' } });
    assert.equal(changed.statusCode, 200);
  });

  test('answers HEAD with the headers and no body', async () => {
    const response = await t.app.inject({ method: 'HEAD', url: '/' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, '');
    assert.equal(response.headers['content-security-policy'], CSP);
    assert.equal(response.headers['content-length'], String(Buffer.byteLength(INDEX)));
  });

  test('never serves a path outside the assets read at start (path traversal)', async () => {
    for (const url of [
      '/assets/../../etc/passwd',
      '/assets/..%2F..%2Fetc%2Fpasswd',
      '/assets/%2e%2e/secret.txt',
      '/assets/missing.js',
      '/secret.txt',
      '/assets/',
    ]) {
      const response = await t.app.inject({ url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().error.code, 'SLW_HTTP_NOT_FOUND', url);
    }
  });

  test('skips symbolic links and files over 5 MiB', async () => {
    assert.equal((await t.app.inject({ url: '/assets/linked.js' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/assets/huge.js' })).statusCode, 404);
  });

  test('does not serve a file added after start', async () => {
    await writeFile(join(dir, 'assets', 'late.js'), 'alert(1)');
    assert.equal((await t.app.inject({ url: '/assets/late.js' })).statusCode, 404);
  });

  test('needs no login, while the management API still does', async () => {
    assert.equal((await t.app.inject({ url: '/' })).statusCode, 200);
    assert.equal((await t.app.inject({ url: `${API}/auth/whoami` })).statusCode, 401);
  });

  test('keeps the JSON 404 for unknown paths', async () => {
    const response = await t.app.inject({ url: '/nothing-here' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'SLW_HTTP_NOT_FOUND');
  });
});

test('starts without a UI, warning once, when the directory is missing', async () => {
  const target = await sqliteDatabase();
  const { lines, sink } = capture();
  const missing = join(target.config.dataDir, 'no-such-web-dir');
  const t = await testApp(target, { webDir: missing, logger: createLogger('warn', sink) });
  try {
    const warnings = lines.filter((l) => l.includes('web UI not found'));
    assert.equal(warnings.length, 1);
    assert.equal(JSON.parse(warnings[0] as string).msg, `web UI not found in ${missing} (run npm run build)`);
    const response = await t.app.inject({ url: '/' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'SLW_HTTP_NOT_FOUND');
  } finally {
    await t.close();
    await target.cleanup();
  }
});

test('starts without a UI when the directory has no index.html', async () => {
  const target = await sqliteDatabase();
  const { lines, sink } = capture();
  const dir = join(target.config.dataDir, 'web');
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'assets', 'app.js'), SCRIPT);
  const t = await testApp(target, { webDir: dir, logger: createLogger('warn', sink) });
  try {
    assert.equal(lines.filter((l) => l.includes(`web UI not found in ${dir}`)).length, 1);
    assert.equal((await t.app.inject({ url: '/' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/assets/app.js' })).statusCode, 404);
  } finally {
    await t.close();
    await target.cleanup();
  }
});

test('without a web directory there is no UI and no warning', async () => {
  const target = await sqliteDatabase();
  const { lines, sink } = capture();
  const t = await testApp(target, { logger: createLogger('warn', sink) });
  try {
    assert.equal((await t.app.inject({ url: '/' })).statusCode, 404);
    assert.equal(lines.filter((l) => l.includes('web UI')).length, 0);
  } finally {
    await t.close();
    await target.cleanup();
  }
});

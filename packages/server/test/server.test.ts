import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { verify } from '@node-rs/argon2';
import Sqlite from 'better-sqlite3';
import { createDatabase } from '../src/db/create-database.js';
import { createLogger, type RunningServer, startServer } from '../src/index.js';
import { UserRepository } from '../src/repositories/user.repository.js';
import { configWith, sqliteDatabase, type TestDatabase } from './support/databases.js';

/** Collects the server's JSON log lines, so tests can assert on them (and that secrets never appear). */
function logSink(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('slipway server on SQLite with the local CA', () => {
  let target: TestDatabase;
  let server: RunningServer;
  let ca: string;
  const log = logSink();
  before(async () => {
    target = await sqliteDatabase();
    const config = { ...configWith({ dataDir: target.config.dataDir }), listen: '127.0.0.1:0' };
    server = await startServer(config, { logger: createLogger('info', log.stream), adminPassword: undefined });
    ca = await readFile(server.caFile as string, 'utf8');
  });
  after(async () => {
    await server.close();
    await target.cleanup();
  });

  test('answers /healthz and /readyz over HTTPS, verified against the pinned local CA', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await get(`${server.url}/healthz`, ca), { status: 200, body: '{"status":"ok"}' });
    assert.deepEqual(await get(`${server.url}/readyz`, ca), { status: 200, body: '{"status":"ready"}' });
  });

  test('serves Prometheus metrics with build info and per-route request counts', async () => {
    await get(`${server.url}/healthz`, ca);
    const { status, body } = await get(`${server.url}/metrics`, ca);
    assert.equal(status, 200);
    assert.match(body, /slipway_build_info\{version="0\.1\.0",database="sqlite"/);
    assert.match(body, /^slipway_db_pool_connections\{state="total"\} 1$/m);
    assert.match(body, /slipway_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
  });

  test('refuses TLS 1.1', async () => {
    const port = Number(new URL(server.url).port);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => {
          socket.end();
          resolve('connected');
        });
        socket.on('error', reject);
      }),
    );
  });

  test('creates admin once, with a random password only in a 0600 file, never in the log', async () => {
    const file = join(target.config.dataDir, 'initial-admin-password');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const password = (await readFile(file, 'utf8')).trim();
    assert.ok(password.length >= 20);
    // The server holds the data directory; a read-only look at the database is still fine.
    const db = new Sqlite(join(target.config.dataDir, 'slipway.sqlite'), { readonly: true });
    try {
      const admin = db.prepare('select role, password_hash as passwordHash from "user" where username = ?').get('admin') as {
        role: string;
        passwordHash: string;
      };
      assert.equal(admin.role, 'admin');
      assert.ok(await verify(admin.passwordHash, password), 'the file holds the real password');
      assert.match(admin.passwordHash, /^\$argon2id\$v=19\$m=47104,t=1,p=1\$/);
    } finally {
      db.close();
    }
    const logged = log.lines.join('\n');
    assert.ok(!logged.includes(password), 'the password is not logged');
    assert.match(logged, /initial-admin-password/);
  });
});

describe('restarts and the first admin', () => {
  let target: TestDatabase;
  before(async () => {
    target = await sqliteDatabase();
  });
  after(() => target.cleanup());

  test('a second server on the same SQLite data directory is refused while the first runs (SLW_DB_IN_USE)', async () => {
    const config = { ...configWith({ dataDir: target.config.dataDir }), listen: '127.0.0.1:0' };
    const first = await startServer(config, { logger: createLogger('silent'), adminPassword: 'correct horse battery staple' });
    try {
      await assert.rejects(startServer(config, { logger: createLogger('silent'), adminPassword: undefined }), { code: 'SLW_DB_IN_USE' });
    } finally {
      await first.close();
    }
    const again = await startServer(config, { logger: createLogger('silent'), adminPassword: undefined });
    await again.close();
  });

  test('a second start keeps the existing admin; SLIPWAY_ADMIN_PASSWORD writes no file', async () => {
    const config = { ...configWith({ dataDir: target.config.dataDir }), listen: '127.0.0.1:0' };
    const first = await startServer(config, { logger: createLogger('silent'), adminPassword: 'correct horse battery staple' });
    await first.close();
    await assert.rejects(stat(join(target.config.dataDir, 'initial-admin-password')), { code: 'ENOENT' });
    const second = await startServer(config, { logger: createLogger('silent'), adminPassword: 'another password' });
    await second.close();
    const { db } = createDatabase(target.config);
    try {
      const users = new UserRepository(db);
      assert.equal(await users.count(), 1);
      assert.ok(await verify((await users.findByUsername('admin'))?.passwordHash as string, 'correct horse battery staple'));
    } finally {
      await db.destroy();
    }
  });

  test('behind a proxy it serves plain HTTP and issues no certificate', async () => {
    const base = configWith({ dataDir: join(target.config.dataDir, 'proxied') });
    const server = await startServer(
      { ...base, listen: '127.0.0.1:0', tls: { ...base.tls, behindProxy: true } },
      { logger: createLogger('silent'), adminPassword: 'x' },
    );
    try {
      assert.match(server.url, /^http:\/\//);
      const response = await fetch(`${server.url}/healthz`);
      assert.equal(response.status, 200);
      await assert.rejects(stat(join(target.config.dataDir, 'proxied', 'tls')), { code: 'ENOENT' });
    } finally {
      await server.close();
    }
  });
});

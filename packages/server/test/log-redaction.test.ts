// Secrets planted in requests must never reach the log: the server logs with pino's redaction.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { buildApp, createDatabase, createLogger, migrateToLatest } from '../src/index.js';
import { UserRepository } from '../src/repositories/user.repository.js';
import { ensureFirstAdmin } from '../src/services/first-admin.service.js';
import { sqliteDatabase } from './support/databases.js';

test('passwords, bearer tokens, cookies and API token secrets never appear in the log', async () => {
  const target = await sqliteDatabase();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const { db, kind, poolStats } = createDatabase(target.config);
  try {
    await migrateToLatest(db);
    await ensureFirstAdmin(new UserRepository(db), {
      dataDir: target.config.dataDir,
      password: 'planted-admin-password-1',
      now: new Date(),
    });
    // debug level logs the most: if redaction holds there, it holds everywhere.
    const { app } = await buildApp({
      db,
      databaseKind: kind,
      poolStats,
      dataDir: target.config.dataDir,
      logger: createLogger('trace', sink),
      version: 'test',
      tls: null,
    });
    const login = await app.inject({
      method: 'POST',
      url: '/api/management/v1/auth/login',
      payload: { username: 'admin', password: 'planted-admin-password-1' },
    });
    const session = (login.json() as { token: string }).token;
    const created = await app.inject({
      method: 'POST',
      url: '/api/management/v1/tokens',
      headers: { authorization: `Bearer ${session}`, cookie: 'slipway_session=planted-cookie-secret' },
      payload: { name: 'ci', role: 'ci' },
    });
    const apiToken = (created.json() as { token: string }).token;
    await app.inject({ url: '/api/management/v1/users', headers: { authorization: `Bearer ${apiToken}` } });
    await app.inject({
      method: 'POST',
      url: '/api/management/v1/auth/login',
      payload: { username: 'admin', password: 'planted-wrong-password-2' },
    });
    await app.inject({
      method: 'POST',
      url: '/api/management/v1/users',
      headers: { authorization: `Bearer ${session}` },
      payload: { username: 'x', password: 'planted-short' },
    });
    await app.close();
    const log = lines.join('');
    assert.ok(log.length > 1000, 'the requests were logged');
    for (const secret of [
      'planted-admin-password-1',
      'planted-wrong-password-2',
      'planted-short',
      'planted-cookie-secret',
      session,
      apiToken,
    ]) {
      assert.ok(!log.includes(secret), `${secret.slice(0, 12)}… leaked into the log`);
    }
  } finally {
    await db.destroy();
    await target.cleanup();
  }
});

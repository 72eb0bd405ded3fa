import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/schema.js';
import { createDatabase, migrateToLatest } from '../src/index.js';
import { ServerSecretRepository } from '../src/repositories/server-secret.repository.js';
import { DeviceTokens } from '../src/services/device-token.js';
import { sqliteDatabase, type TestDatabase } from './support/databases.js';

let target: TestDatabase;
let db: Kysely<Database>;
before(async () => {
  target = await sqliteDatabase();
  db = createDatabase(target.config).db;
  await migrateToLatest(db);
});
after(async () => {
  await db.destroy();
  await target.cleanup();
});

test('a device token names its device until it expires, by the server clock', async () => {
  const tokens = await DeviceTokens.open(new ServerSecretRepository(db), 3600, new Date());
  const now = new Date('2030-01-01T00:00:00Z');
  const { token, expiresAt } = await tokens.issue('device-1', now);
  assert.equal(expiresAt, '2030-01-01T01:00:00.000Z');
  assert.deepEqual(await tokens.verify(token, new Date('2030-01-01T00:59:59Z')), { deviceId: 'device-1' });
  // Verified once and cached: expiry is still checked on every call.
  await assert.rejects(tokens.verify(token, new Date('2030-01-01T01:00:00Z')), { code: 'SLW_DEVICE_TOKEN_INVALID' });
});

test('every server process on one database shares the signing key; another key is refused', async () => {
  const secrets = new ServerSecretRepository(db);
  const [a, b] = await Promise.all([DeviceTokens.open(secrets, 3600, new Date()), DeviceTokens.open(secrets, 3600, new Date())]);
  const now = new Date();
  const { token } = await (a as DeviceTokens).issue('device-2', now);
  assert.equal((await (b as DeviceTokens).verify(token, now)).deviceId, 'device-2');
  await db.deleteFrom('serverSecret').execute();
  const other = await DeviceTokens.open(secrets, 3600, now);
  await assert.rejects(other.verify(token, now), { code: 'SLW_DEVICE_TOKEN_INVALID' });
});

test('a token bound to a client certificate carries its thumbprint; a changed payload is refused', async () => {
  const tokens = await DeviceTokens.open(new ServerSecretRepository(db), 3600, new Date());
  const now = new Date();
  const { token } = await tokens.issue('device-3', now, 'thumbprint-abc');
  assert.deepEqual(await tokens.verify(token, now), { deviceId: 'device-3', certificateThumbprint: 'thumbprint-abc' });
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'device-4' })).toString('base64url');
  await assert.rejects(tokens.verify(`${header}.${forged}.${signature}`, now), { code: 'SLW_DEVICE_TOKEN_INVALID' });
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  await assert.rejects(tokens.verify(`${none}.${payload}.`, now), { code: 'SLW_DEVICE_TOKEN_INVALID' });
});

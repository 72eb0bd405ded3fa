import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { MIGRATIONS } from '../src/db/migrations/index.js';
import { createDatabase, migrateToLatest, migrationsPending } from '../src/index.js';
import { UserRepository } from '../src/repositories/user.repository.js';
import { DIALECTS, postgresDatabase, type TestDatabase } from './support/databases.js';

/** Every migration, in the order they run: names sort that way and start at 0001. */
const ALL_MIGRATIONS = Object.keys(MIGRATIONS);
assert.deepEqual(ALL_MIGRATIONS, [...ALL_MIGRATIONS].sort());
assert.equal(ALL_MIGRATIONS[0], '0001-users');

for (const [name, make] of DIALECTS) {
  describe(`database on ${name}`, () => {
    let target: TestDatabase | null;
    before(async () => {
      target = await make();
    });
    after(async () => target?.cleanup());

    test('migrates an empty database to the latest schema, and a second run changes nothing', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const { db } = createDatabase(target.config);
      try {
        assert.deepEqual(await migrateToLatest(db), ALL_MIGRATIONS);
        assert.deepEqual(await migrateToLatest(db), []);
        assert.equal(await migrationsPending(db), 0);
      } finally {
        await db.destroy();
      }
    });

    test('stores users and enforces unique user names', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const { db } = createDatabase(target.config);
      try {
        await migrateToLatest(db);
        const users = new UserRepository(db);
        const at = new Date().toISOString();
        const user = {
          id: randomUUID(),
          username: `u-${randomUUID()}`,
          passwordHash: 'h',
          role: 'viewer',
          disabledAt: null,
          createdAt: at,
          updatedAt: at,
        };
        const before = await users.count();
        await users.insert(user);
        assert.equal(await users.count(), before + 1);
        assert.deepEqual(await users.findByUsername(user.username), user);
        await assert.rejects(users.insert({ ...user, id: randomUUID() }));
      } finally {
        await db.destroy();
      }
    });

    test('refuses a database migrated by a newer Slipway (SLW_DB_NEWER_THAN_CODE)', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const { db } = createDatabase(target.config);
      try {
        await migrateToLatest(db);
        await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', ${new Date().toISOString()})`.execute(db);
        await assert.rejects(migrateToLatest(db), { code: 'SLW_DB_NEWER_THAN_CODE' });
        await sql`delete from kysely_migration where name = '9999-from-the-future'`.execute(db);
      } finally {
        await db.destroy();
      }
    });
  });
}

test('an unreachable PostgreSQL is SLW_DB_UNAVAILABLE, not a crash', async () => {
  const { db } = createDatabase({
    ...(await import('./support/databases.js')).configWith({ dataDir: '/nonexistent', databaseUrl: 'postgres://nobody@127.0.0.1:1/none' }),
  });
  try {
    await assert.rejects(migrateToLatest(db), { code: 'SLW_DB_UNAVAILABLE' });
  } finally {
    await db.destroy();
  }
});

test('migrates its own PostgreSQL schema when another schema of the database already holds Slipway tables', async (t) => {
  const first = await postgresDatabase();
  const second = await postgresDatabase();
  if (!first || !second) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
  const a = createDatabase(first.config).db;
  const b = createDatabase(second.config).db;
  try {
    await migrateToLatest(a);
    assert.deepEqual(await migrateToLatest(b), ALL_MIGRATIONS);
    assert.equal(await migrationsPending(b), 0);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(b);
    assert.equal(rows[0]?.n, ALL_MIGRATIONS.length);
  } finally {
    await a.destroy();
    await b.destroy();
    await first.cleanup();
    await second.cleanup();
  }
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { preparedQuery } from '../src/db/prepared-query.js';
import type { Database } from '../src/db/schema.js';
import { createDatabase, migrateToLatest } from '../src/index.js';
import { DIALECTS, type TestDatabase } from './support/databases.js';

const SKIP = 'PostgreSQL is not reachable here (CI=true makes this a failure)';

for (const [name, make] of DIALECTS) {
  describe(`preparedQuery on ${name}`, () => {
    let target: TestDatabase | null;
    let db: Kysely<Database> | undefined;
    before(async () => {
      target = await make();
      if (!target) return;
      db = createDatabase(target.config).db;
      await migrateToLatest(db);
      const at = new Date().toISOString();
      for (const [username, role] of [
        ['ana', 'admin'],
        ['bo', 'viewer'],
        ['cy', 'admin'],
      ] as const) {
        await db
          .insertInto('user')
          .values({ id: username, username, passwordHash: 'h', role, createdAt: at, updatedAt: at, disabledAt: null })
          .execute();
      }
    });
    after(async () => {
      await db?.destroy();
      await target?.cleanup();
    });

    test('binds new values on every call and keeps the constants the query was built with', async (t) => {
      if (!db) return t.skip(SKIP);
      const adminsNamed = preparedQuery(db, (db, a, b) =>
        db.selectFrom('user').select('username').where('role', '=', 'admin').where('username', 'in', [a, b]).orderBy('username'),
      );
      assert.deepEqual(await adminsNamed('ana', 'bo'), [{ username: 'ana' }]);
      assert.deepEqual(await adminsNamed('cy', 'ana'), [{ username: 'ana' }, { username: 'cy' }]);
      assert.deepEqual(await adminsNamed('bo', 'nobody'), []);
    });

    test('a value that looks like SQL is data, not SQL', async (t) => {
      if (!db) return t.skip(SKIP);
      const byName = preparedQuery(db, (db, username) => db.selectFrom('user').select('username').where('username', '=', username));
      assert.deepEqual(await byName("ana' or '1'='1"), []);
      assert.deepEqual(await byName('bo'), [{ username: 'bo' }]);
    });

    test('refuses a builder whose value never reaches the query, and a call with the wrong count', async (t) => {
      if (!db) return t.skip(SKIP);
      const ignoresValue = preparedQuery(db, (db, _unused) => db.selectFrom('user').select('username'));
      await assert.rejects(ignoresValue('x'), /value 0 is not a parameter/);
      const byName = preparedQuery(db, (db, username) => db.selectFrom('user').select('username').where('username', '=', username));
      await assert.rejects(byName(), /expected 1 values, got 0/);
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../src/db/schema.js';
import { createDatabase, migrateToLatest } from '../src/index.js';
import { AuditRepository } from '../src/repositories/audit.repository.js';
import { AuditLog, canonicalJson, GENESIS_HASH } from '../src/services/audit-log.service.js';
import { DIALECTS, type TestDatabase } from './support/databases.js';

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
});

for (const [name, make] of DIALECTS) {
  describe(`audit log on ${name}`, () => {
    let target: TestDatabase | null;
    let db: Kysely<Database>;
    let log: AuditLog;
    before(async () => {
      target = await make();
      if (!target) return;
      db = createDatabase(target.config).db;
      await migrateToLatest(db);
    });
    after(async () => {
      await db?.destroy();
      await target?.cleanup();
    });

    async function fresh(): Promise<AuditLog> {
      await sql`delete from audit_entry`.execute(db);
      log = new AuditLog(new AuditRepository(db));
      for (let i = 1; i <= 5; i++) {
        await log.append({
          actorType: 'user',
          actorId: 'u1',
          sourceIp: '127.0.0.1',
          action: 'user.create',
          target: `user-${i}`,
          outcome: 'success',
          details: { role: 'viewer', i },
        });
      }
      return log;
    }

    test('appends a gap-free chain from the genesis hash, and verifies it', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      const first = (await new AuditRepository(db).page(0, 1))[0];
      assert.equal(first?.seq, 1);
      assert.equal(first?.prevHash, GENESIS_HASH);
      const verdict = await log.verify();
      assert.ok(verdict.ok);
      assert.equal(verdict.entries, 5);
      assert.equal(verdict.headSeq, 5);
    });

    test('names an entry edited after it was written (tampering)', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      await sql`update audit_entry set outcome = 'failure' where seq = 3`.execute(db);
      const verdict = await log.verify();
      assert.deepEqual([verdict.ok, !verdict.ok && verdict.firstBadSeq], [false, 3]);
    });

    test('names the gap an entry deleted from the middle leaves (tampering)', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      await sql`delete from audit_entry where seq = 2`.execute(db);
      const verdict = await log.verify();
      assert.deepEqual([verdict.ok, !verdict.ok && verdict.firstBadSeq], [false, 2]);
    });

    test('names reordered entries even when their numbers are swapped back into order (tampering)', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      await sql`update audit_entry set seq = 100 where seq = 2`.execute(db);
      await sql`update audit_entry set seq = 2 where seq = 4`.execute(db);
      await sql`update audit_entry set seq = 4 where seq = 100`.execute(db);
      const verdict = await log.verify();
      assert.deepEqual([verdict.ok, !verdict.ok && verdict.firstBadSeq], [false, 2]);
    });

    test('an entry rewritten with a recomputed hash still breaks the link to the next one', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      const { entryHash } = await import('../src/services/audit-log.service.js');
      const rows = await new AuditRepository(db).page(0, 10);
      const forged = { ...(rows[1] as NonNullable<(typeof rows)[1]>), action: 'user.delete' };
      const { hash: _old, ...unhashed } = forged;
      await sql`update audit_entry set action = ${forged.action}, hash = ${entryHash(unhashed)} where seq = 2`.execute(db);
      const verdict = await log.verify();
      assert.deepEqual([verdict.ok, !verdict.ok && verdict.firstBadSeq], [false, 3]);
    });

    test('concurrent appends stay one unbroken chain', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      const writers = Array.from({ length: 4 }, () => new AuditLog(new AuditRepository(db)));
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          (writers[i % 4] as AuditLog).append({ actorType: 'system', action: 'test.concurrent', outcome: 'success', details: { i } }),
        ),
      );
      const verdict = await log.verify();
      assert.ok(verdict.ok, JSON.stringify(verdict));
      assert.equal(verdict.entries, 29);
    });

    test('a hundred concurrent appends in one process all land, in one unbroken chain', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      await fresh();
      const rows = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          log.append({ actorType: 'system', action: 'test.burst', outcome: 'success', details: { i } }),
        ),
      );
      assert.deepEqual(
        rows.map((r) => r.seq),
        rows.map((_, i) => (rows[0]?.seq ?? 0) + i),
      );
      const verdict = await log.verify();
      assert.ok(verdict.ok, JSON.stringify(verdict));
    });
  });
}

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

    /** A log to search: seq -> [actor, action, target, details]. */
    async function searchable(): Promise<AuditRepository> {
      await sql`delete from audit_entry`.execute(db);
      log = new AuditLog(new AuditRepository(db));
      const rows: [string, string, string, Record<string, unknown> | undefined][] = [
        ['u1', 'device.accept', 'd1', { from: 'pending', identity: { severity: 'critical' } }],
        ['u2', 'device.reject', 'd2', { from: 'pending', severity: 'warning' }],
        ['u1', 'user.create', 'alice', { role: 'viewer', severity: 'info' }],
        ['u1', 'user.disable', 'alice', { severity: 'warning' }],
        ['u2', 'login.failed', 'admin', { severity: 'critical' }],
        ['u1', 'devicez.accept', 'd3', { note: '"severity":"warning"' }],
        ['u1', 'DEVICE.accept', 'd4', undefined],
        ['u10', 'device.decommission', 'd1', { severity: 'warning' }],
      ];
      for (const [actorId, action, target, details] of rows)
        await log.append({ actorType: 'user', actorId, action, target, outcome: 'success', ...(details ? { details } : {}) });
      return new AuditRepository(db);
    }
    const seqs = (page: { entries: { seq: number }[] }) => page.entries.map((e) => e.seq);

    test('search filters by action prefix, exactly and case-sensitively', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const repo = await searchable();
      assert.deepEqual(seqs(await repo.search({ actionPrefix: 'device.' }, 100)), [1, 2, 8]);
      assert.deepEqual(seqs(await repo.search({ actionPrefix: 'device' }, 100)), [1, 2, 6, 8]);
      assert.deepEqual(seqs(await repo.search({ actionPrefix: 'device_' }, 100)), [], '_ is no wildcard');
      assert.deepEqual(seqs(await repo.search({ actionPrefix: 'user.disable' }, 100)), [4]);
    });

    test('search filters by exact actor and target', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const repo = await searchable();
      assert.deepEqual(seqs(await repo.search({ actorId: 'u1' }, 100)), [1, 3, 4, 6, 7]);
      assert.deepEqual(seqs(await repo.search({ actorId: 'u2', actionPrefix: 'device.' }, 100)), [2]);
      assert.deepEqual(seqs(await repo.search({ target: 'd1' }, 100)), [1, 8]);
      assert.deepEqual(seqs(await repo.search({ actorId: 'u' }, 100)), []);
    });

    test("search by severity matches only the entry's own severity, not a nested key or a string that looks like one", async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const repo = await searchable();
      assert.deepEqual(seqs(await repo.search({ severity: 'warning' }, 100)), [2, 4, 8]);
      assert.deepEqual(seqs(await repo.search({ severity: 'critical' }, 100)), [5]);
      assert.deepEqual(seqs(await repo.search({ severity: 'any' }, 100)), [2, 4, 5, 8]);
      assert.deepEqual(seqs(await repo.search({ severity: 'any', order: 'desc' }, 100)), [8, 5, 4, 2]);
    });

    test('search without filters pages like page(), oldest first', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const repo = await searchable();
      const first = await repo.search({}, 3);
      assert.deepEqual([seqs(first), first.next], [[1, 2, 3], 3]);
      assert.deepEqual(first.entries, await repo.page(0, 3));
      const last = await repo.search({ after: 6 }, 3);
      assert.deepEqual([seqs(last), last.next], [[7, 8], null]);
    });

    test('newest-first paging walks every matching entry exactly once', async (t) => {
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const repo = await searchable();
      for (let i = 0; i < 30; i++)
        await log.append({
          actorType: 'system',
          action: i % 3 === 0 ? 'bulk.other' : 'bulk.step',
          outcome: 'success',
          details: { i, severity: i % 2 === 0 ? 'warning' : 'info' },
        });
      const all = (await repo.page(0, 1000)).reverse();
      for (const filter of [{}, { actionPrefix: 'bulk.step' }, { severity: 'warning' as const }]) {
        const expected = (await repo.search({ ...filter, order: 'desc' }, 1000)).entries.map((e) => e.seq);
        assert.ok(expected.length > 4, JSON.stringify(filter));
        assert.deepEqual(
          expected,
          all.map((e) => e.seq).filter((seq) => expected.includes(seq)),
        );
        const walked: number[] = [];
        let before: number | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await repo.search({ ...filter, order: 'desc', ...(before !== undefined ? { before } : {}) }, 4);
          walked.push(...seqs(page));
          if (page.next === null) break;
          before = page.next;
        }
        assert.deepEqual(walked, expected, JSON.stringify(filter));
      }
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { type TestApp, testApp } from './support/app.js';
import { DIALECTS, type TestDatabase } from './support/databases.js';

function gauge(body: string, state: string): number | undefined {
  const match = new RegExp(`^slipway_db_pool_connections\\{state="${state}"\\} (\\d+)$`, 'm').exec(body);
  return match ? Number(match[1]) : undefined;
}

for (const [name, make] of DIALECTS) {
  describe(`/metrics on ${name}`, () => {
    let target: TestDatabase | null;
    let server: TestApp | undefined;
    before(async () => {
      target = await make();
      if (target) server = await testApp(target);
    });
    after(async () => {
      await server?.close();
      await target?.cleanup();
    });

    test('reports the database pool as it is at scrape time', async (t) => {
      if (!server) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const scrape = async () => (await server?.app.inject({ method: 'GET', url: '/metrics' }))?.body ?? '';
      const body = await scrape();
      assert.equal(gauge(body, 'total'), 1, 'migrations and the first admin opened one connection');
      if (name === 'sqlite') {
        // One serialised connection: idle and waiting would be invented figures, so they are absent.
        assert.equal(gauge(body, 'idle'), undefined);
        assert.equal(gauge(body, 'waiting'), undefined);
        return;
      }
      assert.equal(gauge(body, 'idle'), 1);
      assert.equal(gauge(body, 'waiting'), 0);
      // Hold two connections in open transactions: the pool grows and neither is idle while held.
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let started = 0;
      const transactions = [0, 1].map(() =>
        server?.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          started += 1;
          await held;
        }),
      );
      while (started < 2) await new Promise((r) => setTimeout(r, 5));
      const during = await scrape();
      release();
      await Promise.all(transactions);
      assert.equal(gauge(during, 'total'), 2);
      assert.equal(gauge(during, 'idle'), 0);
      assert.equal(gauge(await scrape(), 'idle'), 2);
    });
  });
}

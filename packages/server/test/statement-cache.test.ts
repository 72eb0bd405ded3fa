import assert from 'node:assert/strict';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { withStatementCache } from '../src/db/dialects/sqlite/statement-cache.js';

function memory() {
  const raw = new Sqlite(':memory:');
  raw.exec('create table t (id integer primary key, name text)');
  raw.exec("insert into t (name) values ('a'), ('b'), ('c')");
  return { raw, cached: withStatementCache(raw, 2) };
}

test('the same SQL gets the same prepared statement back', () => {
  const { cached } = memory();
  const sql = 'select name from t where id = ?';
  const first = cached.prepare(sql);
  assert.equal(cached.prepare(sql), first);
  assert.deepEqual(first.all([2]), [{ name: 'b' }]);
  cached.close();
});

test('a statement still being iterated is not handed out again: a second one runs beside it', () => {
  const { cached } = memory();
  const sql = 'select name from t order by id';
  const iterator = cached.prepare(sql).iterate([]);
  assert.deepEqual(iterator.next().value, { name: 'a' });
  const beside = cached.prepare(sql);
  assert.deepEqual(beside.all([]), [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  assert.deepEqual([...iterator], [{ name: 'b' }, { name: 'c' }]);
  cached.close();
});

test('the cache is bounded: past its size the oldest statement is dropped', () => {
  const { cached } = memory();
  const oldest = cached.prepare('select 1');
  cached.prepare('select 2');
  assert.equal(cached.prepare('select 1'), oldest);
  cached.prepare('select 3');
  assert.notEqual(cached.prepare('select 1'), oldest);
  cached.close();
});

test('a cached statement sees a schema change made after it was prepared', () => {
  const { raw, cached } = memory();
  const sql = 'select * from t where id = ?';
  assert.deepEqual(cached.prepare(sql).all([1]), [{ id: 1, name: 'a' }]);
  raw.exec("alter table t add column colour text default 'red'");
  assert.deepEqual(cached.prepare(sql).all([1]), [{ id: 1, name: 'a', colour: 'red' }]);
  cached.close();
});

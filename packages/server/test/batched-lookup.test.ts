import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchedLookup } from '../src/db/batched-lookup.js';

test('lookups in the same turn share one load; missing keys come back undefined', async () => {
  const loads: string[][] = [];
  const lookup = new BatchedLookup<number>(async (keys) => {
    loads.push([...keys]);
    return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.length]));
  });
  const results = await Promise.all(['a', 'bb', 'a', 'missing', 'ccc'].map((k) => lookup.get(k)));
  assert.deepEqual(results, [1, 2, 1, undefined, 3]);
  assert.deepEqual(loads, [['a', 'bb', 'missing', 'ccc']]);
  // A later lookup reads again: nothing is kept between turns.
  assert.equal(await lookup.get('a'), 1);
  assert.equal(loads.length, 2);
});

test('batches are split at the maximum, and a failed load fails exactly its own lookups', async () => {
  const lookup = new BatchedLookup<string>(async (keys) => {
    if (keys.includes('k3')) throw new Error('database down');
    return new Map(keys.map((k) => [k, k.toUpperCase()]));
  }, 3);
  const settled = await Promise.allSettled(['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => lookup.get(k)));
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
  );
  assert.equal((settled[0] as PromiseFulfilledResult<string>).value, 'K0');
});

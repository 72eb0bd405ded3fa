import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceCache } from '../src/repositories/device-cache.js';

const device = (status: 'accepted' | 'decommissioned') => ({ id: 'd1', status, identity: '{}', deviceType: null, inventoryAt: null });

test('a read that was in flight when a device was forgotten is not remembered (stale read after a decision)', () => {
  const cache = new DeviceCache();
  const before = cache.snapshot();
  // The decision lands while the read is on its way back with the old status.
  cache.forget('d1');
  cache.remember('d1', device('accepted'), before);
  assert.equal(cache.get('d1'), undefined);
  const after = cache.snapshot();
  cache.remember('d1', device('decommissioned'), after);
  assert.equal(cache.get('d1')?.status, 'decommissioned');
});

test('forgetting one device also voids reads in flight for others, and the cache is bounded', () => {
  const cache = new DeviceCache(2);
  const s = cache.snapshot();
  cache.forget('other');
  cache.remember('d1', device('accepted'), s);
  assert.equal(cache.get('d1'), undefined);
  for (const id of ['a', 'b', 'c']) cache.remember(id, { ...device('accepted'), id }, cache.snapshot());
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => cache.get(id) !== undefined),
    [false, true, true],
  );
});

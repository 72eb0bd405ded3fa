import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FREE_FAILURES, LoginThrottle } from '../src/services/login-throttle.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('the first failures are free, then the lock-out doubles up to 15 minutes', () => {
  const c = clock();
  const throttle = new LoginThrottle(c.now);
  for (let i = 0; i < FREE_FAILURES; i++) throttle.failed('ana', '10.0.0.1');
  assert.equal(throttle.retryAfterMs('ana', '10.0.0.1'), 0);
  const locks: number[] = [];
  for (let i = 0; i < 12; i++) {
    throttle.failed('ana', '10.0.0.1');
    locks.push(throttle.retryAfterMs('ana', '10.0.0.9'));
    c.advance(locks.at(-1) as number);
  }
  assert.deepEqual(locks.slice(0, 4), [1000, 2000, 4000, 8000]);
  assert.equal(locks.at(-1), 15 * 60_000);
});

test('the source address is locked out across user names (password spraying)', () => {
  const throttle = new LoginThrottle(clock().now);
  for (let i = 0; i <= FREE_FAILURES; i++) throttle.failed(`user-${i}`, '10.6.6.6');
  assert.ok(throttle.retryAfterMs('somebody-else', '10.6.6.6') > 0);
  assert.equal(throttle.retryAfterMs('somebody-else', '10.0.0.2'), 0);
});

test('an hour without failures starts the count afresh; a success clears the user', () => {
  const c = clock();
  const throttle = new LoginThrottle(c.now);
  for (let i = 0; i < FREE_FAILURES; i++) throttle.failed('bo', '10.0.0.3');
  c.advance(60 * 60_000 + 1);
  assert.equal(throttle.failed('bo', '10.0.0.3'), 1);
  assert.equal(throttle.retryAfterMs('bo', '10.0.0.3'), 0);
  throttle.failed('bo', '10.0.0.4');
  throttle.succeeded('bo');
  assert.equal(throttle.failed('bo', '10.0.0.5'), 1);
});

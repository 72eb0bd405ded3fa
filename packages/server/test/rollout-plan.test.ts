import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SlipwayError } from '@slipway/core';
import { parseWindow, windowState } from '../src/services/maintenance-window.js';
import {
  assignPhases,
  failuresThatHalt,
  parseFailureLimit,
  parsePhases,
  parseSuccessThreshold,
  successesNeeded,
} from '../src/services/rollout-plan.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `device-${i + 1}`);
const sizes = (assigned: Map<string, number>, phases: number) => {
  const out = Array.from({ length: phases }, () => 0);
  for (const p of assigned.values()) out[p - 1] = (out[p - 1] ?? 0) + 1;
  return out;
};
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as SlipwayError).code;
  }
  return 'no error';
};

describe('phase math', () => {
  const plan = parsePhases(['5%', '25%', '100%']);

  test('odd fleet sizes: every device gets exactly one phase and percentages round up', () => {
    const expected: Record<number, number[]> = {
      1: [1, 0, 0],
      3: [1, 0, 2],
      7: [1, 1, 5],
      13: [1, 3, 9],
      99: [5, 20, 74],
      101: [6, 20, 75],
    };
    for (const [n, want] of Object.entries(expected)) {
      const assigned = assignPhases('d1', ids(Number(n)), plan, new Map());
      assert.equal(assigned.size, Number(n), `fleet of ${n}`);
      assert.deepEqual(sizes(assigned, 3), want, `fleet of ${n}`);
    }
  });

  test('the canary sample depends on the deployment, not on the order devices were listed', () => {
    const a = assignPhases('deployment-a', ids(40), plan, new Map());
    const reversed = assignPhases('deployment-a', ids(40).reverse(), plan, new Map());
    assert.deepEqual([...a].sort(), [...reversed].sort());
    const other = assignPhases('deployment-b', ids(40), plan, new Map());
    assert.notDeepEqual(
      [...a].filter(([, p]) => p === 1).map(([id]) => id),
      [...other].filter(([, p]) => p === 1).map(([id]) => id),
    );
  });

  test('a group phase takes its members first; later percentages count every target', () => {
    const canary = new Set(['device-3', 'device-9', 'not-a-target']);
    const assigned = assignPhases('d1', ids(9), parsePhases(['canary', '50%', '100%']), new Map([['canary', canary]]));
    assert.equal(assigned.get('device-3'), 1);
    assert.equal(assigned.get('device-9'), 1);
    assert.equal(assigned.has('not-a-target'), false);
    assert.deepEqual(sizes(assigned, 3), [2, 3, 4]);
  });

  test('thresholds: successes needed round up, failures that halt are at least one', () => {
    assert.equal(successesNeeded(95, 7), 7);
    assert.equal(successesNeeded(95, 20), 19);
    assert.equal(successesNeeded(95, 0), 0);
    assert.equal(failuresThatHalt({ percent: 2 }, 5), 1);
    assert.equal(failuresThatHalt({ percent: 2 }, 1000), 20);
    assert.equal(failuresThatHalt({ percent: 10 }, 7), 1);
    assert.equal(failuresThatHalt({ count: 3 }, 7), 3);
    assert.equal(failuresThatHalt({ count: 0 }, 7), 1);
  });

  test('malformed plans are refused with SLW_DEPLOYMENT_INVALID', () => {
    for (const bad of [['5%', '25%'], ['25%', '5%', '100%'], ['0%', '100%'], ['150%'], ['a b', '100%'], ['5%@tomorrow', '100%']])
      assert.equal(
        code(() => parsePhases(bad)),
        'SLW_DEPLOYMENT_INVALID',
        bad.join(','),
      );
    for (const bad of ['0', '101%', 'lots'])
      assert.equal(
        code(() => parseSuccessThreshold(bad)),
        'SLW_DEPLOYMENT_INVALID',
        bad,
      );
    for (const bad of ['-1', '2.5', '200%', 'x'])
      assert.equal(
        code(() => parseFailureLimit(bad)),
        'SLW_DEPLOYMENT_INVALID',
        bad,
      );
    assert.deepEqual(parsePhases(['5%', '100%@2026-12-01T02:00:00Z'])[1], {
      kind: 'percent',
      percent: 100,
      startAt: '2026-12-01T02:00:00.000Z',
    });
  });
});

describe('maintenance windows', () => {
  test('CRON/DURATION/TIMEZONE parses, steps in the cron part included', () => {
    assert.deepEqual(parseWindow('0 2 * * */4h/Europe/Berlin'), { cron: '0 2 * * *', durationMinutes: 240, timezone: 'Europe/Berlin' });
    assert.deepEqual(parseWindow('*/30 1-3 * * 1-5/1h30m/UTC'), { cron: '*/30 1-3 * * 1-5', durationMinutes: 90, timezone: 'UTC' });
    assert.deepEqual(parseWindow('0 */2 * * */45m/America/Argentina/Buenos_Aires').durationMinutes, 45);
    for (const bad of ['0 2 * * *', '0 2 * * */4h/Mars/Olympus', '0 2 * */4h/UTC', '0 2 * * */0m/UTC', '99 2 * * */4h/UTC'])
      assert.equal(
        code(() => parseWindow(bad)),
        'SLW_DEPLOYMENT_INVALID',
        bad,
      );
  });

  test('open from each occurrence for its duration, in the window time zone', () => {
    const window = parseWindow('0 2 * * */4h/Europe/Berlin');
    // 02:00 in Berlin is 01:00 UTC in winter.
    assert.equal(windowState(window, new Date('2026-11-25T00:59:00Z')).open, false);
    assert.equal(windowState(window, new Date('2026-11-25T00:59:00Z')).opensAt, '2026-11-25T01:00:00.000Z');
    const inside = windowState(window, new Date('2026-11-25T03:30:00Z'));
    assert.equal(inside.open, true);
    assert.equal(inside.closesAt, '2026-11-25T05:00:00.000Z');
    assert.equal(windowState(window, new Date('2026-11-25T05:00:01Z')).open, false);
    // Summer time: 02:00 in Berlin is 00:00 UTC.
    assert.equal(windowState(window, new Date('2026-07-01T00:30:00Z')).open, true);
  });
});

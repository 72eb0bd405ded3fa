import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertInstallable, checkInstallPolicy, type DeviceFacts, type InstallCandidate, type InstallVerdict } from '../../src/index.js';
import { DAY_MS, NOW, slipwayError } from '../support/fixtures.js';

const CANDIDATE: InstallCandidate = Object.freeze({
  name: 'gateway-os',
  version: '2.1.0',
  securityVersion: 5,
  deviceTypes: Object.freeze(['gw-100', 'gw-200']),
  expiresAt: '2026-12-24T12:00:00Z',
});

const DEVICE: DeviceFacts = Object.freeze({ deviceType: 'gw-100', installedSecurityVersion: 5, now: NOW });

/** The code of a refusal, or 'ok'; a verdict in one comparable word. */
function outcome(verdict: InstallVerdict): string {
  return verdict.ok ? 'ok' : verdict.error.code;
}

function check(candidate: Partial<InstallCandidate>, device: Partial<DeviceFacts>): string {
  return outcome(checkInstallPolicy({ ...CANDIDATE, ...candidate }, { ...DEVICE, ...device }));
}

describe('install policy', () => {
  test('a compatible, current artifact at the installed security version may be installed', () => {
    assert.deepEqual(checkInstallPolicy(CANDIDATE, DEVICE), { ok: true });
    assert.doesNotThrow(() => assertInstallable(CANDIDATE, DEVICE));
  });

  describe('anti-rollback', () => {
    test('a lower security version than the installed one is refused (rollback attack)', () => {
      assert.equal(check({ securityVersion: 4 }, { installedSecurityVersion: 5 }), 'SLW_ARTIFACT_ROLLBACK');
      assert.equal(check({ securityVersion: 0 }, { installedSecurityVersion: 1 }), 'SLW_ARTIFACT_ROLLBACK');
      assert.throws(() => assertInstallable({ ...CANDIDATE, securityVersion: 4 }, DEVICE), slipwayError('SLW_ARTIFACT_ROLLBACK'));
    });

    test('an equal security version is allowed (re-install, or a fix at the same level)', () => {
      assert.equal(check({ securityVersion: 5 }, { installedSecurityVersion: 5 }), 'ok');
      assert.equal(check({ securityVersion: 0 }, { installedSecurityVersion: 0 }), 'ok');
    });

    test('a higher security version is allowed', () => {
      assert.equal(check({ securityVersion: 6 }, { installedSecurityVersion: 5 }), 'ok');
      assert.equal(check({ securityVersion: Number.MAX_SAFE_INTEGER }, { installedSecurityVersion: 0 }), 'ok');
    });

    test('the refusal names both security versions', () => {
      const verdict = checkInstallPolicy({ ...CANDIDATE, securityVersion: 3 }, { ...DEVICE, installedSecurityVersion: 7 });
      assert.equal(verdict.ok, false);
      assert.ok(!verdict.ok && /\b3\b/.test(verdict.error.message) && /\b7\b/.test(verdict.error.message), 'message names 3 and 7');
    });

    test('without a known installed security version, the rollback check is skipped', () => {
      assert.equal(check({ securityVersion: 0 }, { installedSecurityVersion: undefined }), 'ok');
    });
  });

  describe('device type (wrong software)', () => {
    test('an artifact for other device types is refused', () => {
      assert.equal(check({}, { deviceType: 'gw-300' }), 'SLW_ARTIFACT_DEVICE_TYPE');
      assert.throws(() => assertInstallable(CANDIDATE, { ...DEVICE, deviceType: 'gw-300' }), slipwayError('SLW_ARTIFACT_DEVICE_TYPE'));
    });

    test('any listed device type is compatible', () => {
      assert.equal(check({}, { deviceType: 'gw-100' }), 'ok');
      assert.equal(check({}, { deviceType: 'gw-200' }), 'ok');
    });

    test('device types match exactly: no prefix, case or whitespace leniency', () => {
      for (const deviceType of ['gw-1', 'GW-100', 'gw-100 ', 'gw-100\n', '']) {
        assert.equal(check({}, { deviceType }), 'SLW_ARTIFACT_DEVICE_TYPE', JSON.stringify(deviceType));
      }
    });

    test('without a known device type, the compatibility check is skipped', () => {
      assert.equal(check({ deviceTypes: ['other-board'] }, { deviceType: undefined }), 'ok');
    });
  });

  describe('expiry', () => {
    test('an artifact past its expiry is refused', () => {
      assert.equal(check({ expiresAt: '2026-11-24T11:59:59Z' }, {}), 'SLW_ARTIFACT_EXPIRED');
      assert.throws(
        () => assertInstallable({ ...CANDIDATE, expiresAt: '2020-01-01T00:00:00Z' }, DEVICE),
        slipwayError('SLW_ARTIFACT_EXPIRED'),
      );
    });

    test('an artifact expires at the exact instant its expiry names', () => {
      assert.equal(check({ expiresAt: '2026-11-24T12:00:00Z' }, { now: NOW }), 'SLW_ARTIFACT_EXPIRED');
      assert.equal(check({ expiresAt: '2026-11-24T12:00:00Z' }, { now: new Date(NOW.getTime() - 1) }), 'ok');
      assert.equal(check({ expiresAt: '2026-11-24T12:00:00.001Z' }, { now: NOW }), 'ok');
    });

    test('an artifact without an expiry never expires', () => {
      assert.equal(check({ expiresAt: undefined }, { now: new Date('9999-12-31T23:59:59Z') }), 'ok');
    });

    test('an expiry that is not a real date fails closed', () => {
      assert.equal(check({ expiresAt: '2026-02-31T00:00:00Z' }, { now: new Date(0) }), 'SLW_ARTIFACT_EXPIRED');
      assert.equal(check({ expiresAt: 'never' }, { now: new Date(0) }), 'SLW_ARTIFACT_EXPIRED');
    });
  });

  test('with no device facts but the time, only expiry is checked', () => {
    const facts = { now: NOW };
    assert.equal(outcome(checkInstallPolicy({ ...CANDIDATE, securityVersion: 0, deviceTypes: ['x'] }, facts)), 'ok');
    assert.equal(outcome(checkInstallPolicy({ ...CANDIDATE, expiresAt: '2000-01-01T00:00:00Z' }, facts)), 'SLW_ARTIFACT_EXPIRED');
  });

  test('an artifact failing several checks is refused', () => {
    const verdict = checkInstallPolicy(
      { ...CANDIDATE, securityVersion: 1, deviceTypes: ['gw-300'], expiresAt: '2000-01-01T00:00:00Z' },
      { ...DEVICE, installedSecurityVersion: 9 },
    );
    assert.equal(verdict.ok, false);
    assert.throws(
      () => assertInstallable({ ...CANDIDATE, securityVersion: 1, deviceTypes: ['gw-300'] }, { ...DEVICE, installedSecurityVersion: 9 }),
      (err: unknown) =>
        err instanceof Error && 'code' in err && (err.code === 'SLW_ARTIFACT_DEVICE_TYPE' || err.code === 'SLW_ARTIFACT_ROLLBACK'),
    );
  });

  describe('purity', () => {
    test('the same inputs give the same verdict, and the inputs are not changed', () => {
      // CANDIDATE and DEVICE are frozen: a write to either would throw in strict mode.
      const refused = { ...CANDIDATE, securityVersion: 1 };
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(checkInstallPolicy(CANDIDATE, DEVICE), { ok: true });
        assert.equal(outcome(checkInstallPolicy(refused, DEVICE)), 'SLW_ARTIFACT_ROLLBACK');
      }
      assert.equal(CANDIDATE.securityVersion, 5);
    });

    test('it judges expiry by the time it is given and never reads the clock', (t) => {
      // The real clock is pinned far after the expiry: a policy that read it would refuse.
      t.mock.timers.enable({ apis: ['Date'], now: new Date('2999-01-01T00:00:00Z') });
      const longAgo = { ...CANDIDATE, expiresAt: '1999-12-31T23:59:59Z' };
      assert.equal(check(longAgo, { now: new Date('1990-06-01T00:00:00Z') }), 'ok');
      assert.equal(check(longAgo, { now: new Date('2000-01-01T00:00:00Z') }), 'SLW_ARTIFACT_EXPIRED');
      // And pinned far before it: a policy that read it would accept.
      t.mock.timers.setTime(new Date('1970-01-02T00:00:00Z').getTime());
      const farFuture = { ...CANDIDATE, expiresAt: '2999-12-31T00:00:00Z' };
      assert.equal(check(farFuture, { now: new Date('3000-01-01T00:00:00Z') }), 'SLW_ARTIFACT_EXPIRED');
      assert.equal(check(farFuture, { now: new Date(NOW.getTime() + 365 * DAY_MS) }), 'ok');
    });
  });
});

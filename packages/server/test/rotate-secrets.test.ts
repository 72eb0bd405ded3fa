// `slipway server --rotate-secrets`, for a server that may have been compromised: device tokens
// issued before stop working, devices get new ones with their own keys, and the audit chain says so.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { rotateServerSecrets } from '../src/services/rotate-secrets.js';
import { ADMIN_PASSWORD, API, bearer, login, testApp } from './support/app.js';
import { DIALECTS } from './support/databases.js';
import { authenticate, DEVICES, errorCode, testCa, testDevice } from './support/device.js';

for (const [name, make] of DIALECTS) {
  describe(`rotating the server's secrets on ${name}`, () => {
    test('old device tokens are refused, the device authenticates again, and the audit chain records it', async (t) => {
      const target = await make();
      if (!target) return t.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const factory = await testCa('Factory CA');
      const cas = [new X509Certificate(factory.cert)];
      try {
        const before = await testApp(target, { manufacturingCas: cas });
        const device = testDevice('GW-ROT-1');
        const certificate = await factory.issue(device);
        const first = await authenticate(before.app, device, { certificate });
        assert.equal(first.statusCode, 200, first.body);
        const { deviceId, token } = first.json() as { deviceId: string; token: string };
        const ok = await before.app.inject({ method: 'GET', url: `${DEVICES}/deployments/next`, headers: bearer(token) });
        assert.equal(ok.statusCode, 204, ok.body);
        await before.close();

        const rotated = await rotateServerSecrets(target.config);
        assert.ok(rotated.includes('device-token-signing-key'), rotated.join(','));

        const after = await testApp(target, { manufacturingCas: cas });
        try {
          const refused = await after.app.inject({ method: 'GET', url: `${DEVICES}/deployments/next`, headers: bearer(token) });
          assert.equal(refused.statusCode, 401);
          assert.equal(errorCode(refused), 'SLW_DEVICE_TOKEN_INVALID');
          // The device's own key still admits it: it gets a token under the new signing key.
          const again = await authenticate(after.app, device, { certificate });
          assert.equal(again.statusCode, 200, again.body);
          const renewed = again.json() as { deviceId: string; token: string };
          assert.equal(renewed.deviceId, deviceId);
          const fresh = await after.app.inject({ method: 'GET', url: `${DEVICES}/deployments/next`, headers: bearer(renewed.token) });
          assert.equal(fresh.statusCode, 204, fresh.body);

          const admin = await login(after.app, 'admin', ADMIN_PASSWORD);
          const audit = await after.app.inject({ method: 'GET', url: `${API}/audit/entries`, headers: bearer(admin) });
          const entries = (audit.json() as { entries: { action: string; actorType: string; details: unknown }[] }).entries;
          const entry = entries.find((e) => e.action === 'server.secrets.rotate');
          assert.equal(entry?.actorType, 'system', audit.body);
          const verified = await after.app.inject({ method: 'GET', url: `${API}/audit/verify`, headers: bearer(admin) });
          assert.equal((verified.json() as { ok: boolean }).ok, true, verified.body);
        } finally {
          await after.close();
        }
      } finally {
        await target.cleanup();
      }
    });
  });
}

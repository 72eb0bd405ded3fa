import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DEVICE_SIGNATURE_HEADER } from '@slipway/core';
import { ADMIN_PASSWORD, API, bearer, login, type TestApp, testApp } from './support/app.js';
import { DIALECTS, sqliteDatabase, type TestDatabase } from './support/databases.js';
import {
  authenticate,
  DEVICES,
  errorCode,
  proposeKey,
  signedAuth,
  signedRotation,
  type TestCa,
  testCa,
  testDevice,
} from './support/device.js';

const SKIP = 'PostgreSQL is not reachable here (CI=true makes this a failure)';

for (const [name, make] of DIALECTS) {
  describe(`device authentication and admission on ${name}`, () => {
    let target: TestDatabase | null;
    let t: TestApp;
    let admin: string;
    let factory: TestCa;
    let serial = 0;
    const nextSerial = () => `GW-${name}-${++serial}`;

    before(async () => {
      target = await make();
      if (!target) return;
      factory = await testCa('Factory CA');
      t = await testApp(target, { manufacturingCas: [new X509Certificate(factory.cert)] });
      admin = await login(t.app, 'admin', ADMIN_PASSWORD);
    });
    after(async () => {
      if (!target) return;
      await t.close();
      await target.cleanup();
    });

    const deviceIdOf = async (serialNumber: string) => {
      const list = await t.app.inject({ url: `${API}/devices?attr.serial=${serialNumber}`, headers: bearer(admin) });
      assert.equal(list.statusCode, 200, list.body);
      return (list.json() as { devices: { id: string; status: string }[] }).devices[0];
    };
    const decide = (id: string, decision: string) =>
      t.app.inject({ method: 'POST', url: `${API}/devices/${id}/${decision}`, headers: bearer(admin) });

    test('an unknown device waits as pending with a retry hint, and gets a token once accepted', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const first = await authenticate(t.app, device);
      assert.equal(first.statusCode, 401);
      assert.equal(errorCode(first), 'SLW_DEVICE_PENDING');
      assert.equal(first.headers['retry-after'], '300');
      const listed = await deviceIdOf(device.identity.serial as string);
      assert.equal(listed?.status, 'pending');
      assert.equal((await decide(listed?.id as string, 'accept')).statusCode, 200);
      const accepted = await authenticate(t.app, device);
      assert.equal(accepted.statusCode, 200, accepted.body);
      const { token, deviceId } = accepted.json() as { token: string; deviceId: string };
      assert.equal(deviceId, listed?.id);
      const own = await t.app.inject({ url: `${DEVICES}/device`, headers: bearer(token) });
      assert.equal(own.statusCode, 200, own.body);
      assert.deepEqual(own.json().identity, device.identity);
      const shown = (await t.app.inject({ url: `${API}/devices/${deviceId}`, headers: bearer(admin) })).json() as {
        authHistory: { outcome: string }[];
        keys: { state: string }[];
      };
      assert.deepEqual(
        shown.authHistory.map((e) => e.outcome),
        ['accepted', 'pending'],
      );
      assert.equal(shown.keys.length, 1);
    });

    test('a replayed authentication request is refused (replay attack)', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const { body, signature } = await signedAuth(device);
      const send = () =>
        t.app.inject({
          method: 'POST',
          url: `${DEVICES}/auth`,
          headers: { 'content-type': 'application/json', [DEVICE_SIGNATURE_HEADER]: signature },
          payload: body,
        });
      assert.equal(errorCode(await send()), 'SLW_DEVICE_PENDING');
      const replay = await send();
      assert.equal(replay.statusCode, 401);
      assert.equal(errorCode(replay), 'SLW_DEVICE_AUTH_REPLAY');
    });

    test('a stale or future timestamp is refused', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      for (const skew of [-301_000, 301_000]) {
        const response = await authenticate(t.app, device, { timestamp: new Date(Date.now() + skew) });
        assert.equal(response.statusCode, 401);
        assert.equal(errorCode(response), 'SLW_DEVICE_AUTH_STALE');
      }
    });

    test('a wrong signature is refused: another key, or a body changed after signing', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const impostor = testDevice('impostor');
      const forged = await authenticate(t.app, device, { signer: impostor.signer });
      assert.equal(errorCode(forged), 'SLW_DEVICE_AUTH_INVALID');
      const { body, signature } = await signedAuth(device);
      const altered = Buffer.from(body.toString('utf8').replace(device.identity.serial as string, 'GW-other'));
      const tampered = await t.app.inject({
        method: 'POST',
        url: `${DEVICES}/auth`,
        headers: { 'content-type': 'application/json', [DEVICE_SIGNATURE_HEADER]: signature },
        payload: altered,
      });
      assert.equal(errorCode(tampered), 'SLW_DEVICE_AUTH_INVALID');
      const unsigned = await t.app.inject({
        method: 'POST',
        url: `${DEVICES}/auth`,
        headers: { 'content-type': 'application/json' },
        payload: body,
      });
      assert.equal(errorCode(unsigned), 'SLW_DEVICE_AUTH_INVALID');
      assert.equal(await deviceIdOf(device.identity.serial as string), undefined, 'nothing was registered');
    });

    test('a weak device key is refused by policy', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const { generateKeyPairSync } = await import('node:crypto');
      const weak = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const device = testDevice(nextSerial());
      const response = await authenticate(t.app, device, { publicKey: weak.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      assert.equal(response.statusCode, 400);
      assert.equal(errorCode(response), 'SLW_DEVICE_KEY_REFUSED');
    });

    test('without a valid token a device gets nothing: no token, a forged one, an unsigned one', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
      const claims = Buffer.from(JSON.stringify({ sub: 'x', exp: 9_999_999_999 })).toString('base64url');
      for (const headers of [{}, bearer(`${header}.${claims}.`), bearer(`${header}.${claims}.c2lnbmF0dXJlIGZvcmdlZA`), bearer(admin)]) {
        for (const [method, url] of [
          ['GET', `${DEVICES}/device`],
          ['PUT', `${DEVICES}/inventory`],
        ] as const) {
          const response = await t.app.inject({ method, url, headers, payload: method === 'PUT' ? { attributes: {} } : undefined });
          assert.equal(response.statusCode, 401, `${method} ${url}`);
          assert.equal(errorCode(response), 'SLW_DEVICE_TOKEN_INVALID');
        }
      }
    });

    test('a rejected device cannot authenticate', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      await authenticate(t.app, device);
      const id = (await deviceIdOf(device.identity.serial as string))?.id as string;
      assert.equal((await decide(id, 'reject')).statusCode, 200);
      const response = await authenticate(t.app, device);
      assert.equal(response.statusCode, 401);
      assert.equal(errorCode(response), 'SLW_DEVICE_REJECTED');
      assert.equal(errorCode(await decide(id, 'reject')), 'SLW_DEVICE_STATE');
    });

    test('a decommissioned device is refused on its next request and must be admitted anew', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      await authenticate(t.app, device);
      const id = (await deviceIdOf(device.identity.serial as string))?.id as string;
      await decide(id, 'accept');
      const { token } = (await authenticate(t.app, device)).json() as { token: string };
      assert.equal((await t.app.inject({ url: `${DEVICES}/device`, headers: bearer(token) })).statusCode, 200);
      assert.equal((await decide(id, 'decommission')).statusCode, 200);
      const refused = await t.app.inject({ url: `${DEVICES}/device`, headers: bearer(token) });
      assert.equal(refused.statusCode, 401);
      assert.equal(errorCode(refused), 'SLW_DEVICE_TOKEN_INVALID');
      const again = await authenticate(t.app, device);
      assert.equal(errorCode(again), 'SLW_DEVICE_PENDING');
      assert.equal((await deviceIdOf(device.identity.serial as string))?.status, 'pending');
      const audit = await t.db.selectFrom('auditEntry').select(['action', 'actorType']).where('target', '=', id).orderBy('seq').execute();
      assert.deepEqual(
        audit.map((a) => `${a.actorType}:${a.action}`),
        ['device:device.register', 'user:device.accept', 'user:device.decommission', 'device:device.register'],
      );
    });

    test('check-ins racing a decommission: every check-in after the decision returns is refused', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const { token, deviceId } = (await authenticate(t.app, device, { certificate: await factory.issue(device) })).json() as {
        token: string;
        deviceId: string;
      };
      const checkIn = () => t.app.inject({ url: `${DEVICES}/device`, headers: bearer(token) });
      assert.equal((await checkIn()).statusCode, 200);
      const during = Array.from({ length: 40 }, () => checkIn());
      const decided = await decide(deviceId, 'decommission');
      assert.equal(decided.statusCode, 200);
      await Promise.all(during);
      const after = await Promise.all(Array.from({ length: 20 }, () => checkIn()));
      assert.deepEqual([...new Set(after.map((r) => r.statusCode))], [401]);
    });

    test('a stolen device decommissioned by an operator is not re-admitted by its still valid factory certificate', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const certificate = await factory.issue(device);
      const first = await authenticate(t.app, device, { certificate });
      assert.equal(first.statusCode, 200, first.body);
      const { deviceId } = first.json() as { deviceId: string };
      assert.equal((await decide(deviceId, 'decommission')).statusCode, 200);
      // The thief holds the key and the certificate: both still verify, and neither may undo the decision.
      const back = await authenticate(t.app, device, { certificate });
      assert.equal(back.statusCode, 401, back.body);
      assert.equal(errorCode(back), 'SLW_DEVICE_PENDING');
      assert.equal((await deviceIdOf(device.identity.serial as string))?.status, 'pending');
      const shown = await t.app.inject({ url: `${API}/devices/${deviceId}`, headers: bearer(admin) });
      const history = (shown.json() as { authHistory: { outcome: string; reason: string | null }[] }).authHistory;
      assert.equal(history[0]?.reason, 'decommissioned device asks to be admitted anew');
    });

    test('a preauthorized device is accepted at first contact; the same identity with another key is not', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const other = testDevice(nextSerial());
      const manifest = { devices: [device, other].map((d) => ({ identity: d.identity, publicKey: d.publicPem })) };
      const imported = await t.app.inject({
        method: 'POST',
        url: `${API}/devices/preauthorize`,
        headers: bearer(admin),
        payload: manifest,
      });
      assert.equal(imported.statusCode, 200, imported.body);
      assert.deepEqual(imported.json(), { imported: 2, unchanged: 0 });
      const again = await t.app.inject({ method: 'POST', url: `${API}/devices/preauthorize`, headers: bearer(admin), payload: manifest });
      assert.deepEqual(again.json(), { imported: 0, unchanged: 2 });
      const accepted = await authenticate(t.app, device);
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.equal((await deviceIdOf(device.identity.serial as string))?.status, 'accepted');
      const clone = { ...testDevice('x'), identity: other.identity };
      const refused = await authenticate(t.app, clone);
      assert.equal(errorCode(refused), 'SLW_DEVICE_AUTH_INVALID');
      assert.equal((await deviceIdOf(other.identity.serial as string))?.status, 'preauthorized');
    });

    test('a device certified by the manufacturing CA is accepted at first contact; another CA or identity is not', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const certified = testDevice(nextSerial());
      const response = await authenticate(t.app, certified, { certificate: await factory.issue(certified) });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal((await deviceIdOf(certified.identity.serial as string))?.status, 'accepted');

      const rogueCa = await testCa('Rogue CA');
      const rogue = testDevice(nextSerial());
      const fromRogue = await authenticate(t.app, rogue, { certificate: await rogueCa.issue(rogue) });
      assert.equal(errorCode(fromRogue), 'SLW_DEVICE_PENDING');
      const liar = testDevice(nextSerial());
      const forAnother = await authenticate(t.app, liar, { certificate: await factory.issue(liar, { serial: 'GW-somebody-else' }) });
      assert.equal(errorCode(forAnother), 'SLW_DEVICE_PENDING');
      const stolen = testDevice(nextSerial());
      const otherKey = await authenticate(t.app, stolen, {
        certificate: await factory.issue(testDevice(stolen.identity.serial as string)),
      });
      assert.equal(errorCode(otherKey), 'SLW_DEVICE_PENDING');
      const reasons = (
        await t.db.selectFrom('deviceAuthEvent').select('reason').where('reason', 'like', 'certificate refused%').execute()
      ).map((r) => r.reason);
      assert.deepEqual(reasons.sort(), [
        'certificate refused: the certificate is for another key',
        'certificate refused: the certificate names another identity',
        'certificate refused: the certificate was not issued by a manufacturing CA',
      ]);
    });

    test('a key already held by another identity is refused (cloned device)', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      await authenticate(t.app, device);
      const clone = { ...device, identity: { serial: nextSerial() } };
      const response = await authenticate(t.app, clone);
      assert.equal(response.statusCode, 409);
      assert.equal(errorCode(response), 'SLW_DEVICE_KEY_IN_USE');
    });

    test('key rotation in two steps survives a crash between them, and then retires the old key', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const old = testDevice(nextSerial());
      const { token, deviceId } = (await authenticate(t.app, old, { certificate: await factory.issue(old) })).json() as {
        token: string;
        deviceId: string;
      };
      const fresh = { ...testDevice('unused'), identity: old.identity };
      const proposed = await proposeKey(t.app, token, old, fresh);
      assert.equal(proposed.statusCode, 200, proposed.body);
      // The answer was lost and the device asks again: harmless.
      assert.equal((await proposeKey(t.app, token, old, fresh)).statusCode, 200);
      const keyStates = async () =>
        ((await t.app.inject({ url: `${API}/devices/${deviceId}`, headers: bearer(admin) })).json() as { keys: { state: string }[] }).keys
          .map((k) => k.state)
          .sort();
      assert.deepEqual(await keyStates(), ['active', 'next']);
      // The device crashes before it uses the new key: after a restart either key still works.
      assert.equal((await authenticate(t.app, old)).statusCode, 200);
      assert.deepEqual(await keyStates(), ['active', 'next']);
      const second = await authenticate(t.app, fresh);
      assert.equal(second.statusCode, 200, second.body);
      assert.deepEqual(await keyStates(), ['active']);
      const retired = await authenticate(t.app, old);
      assert.equal(errorCode(retired), 'SLW_DEVICE_AUTH_INVALID');
      const actions = await t.db.selectFrom('auditEntry').select('action').where('target', '=', deviceId).orderBy('seq').execute();
      assert.deepEqual(
        actions.map((a) => a.action).filter((a) => a.startsWith('device.key')),
        ['device.key-proposed', 'device.key-rotated'],
      );
    });

    test('a key rotation signed by only one of the two keys is refused', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const { token } = (await authenticate(t.app, device, { certificate: await factory.issue(device) })).json() as { token: string };
      const attacker = testDevice('attacker');
      const stranger = testDevice('stranger');
      // A stolen token alone: the attacker signs with its own key as "current".
      const withoutCurrent = await proposeKey(t.app, token, attacker, attacker);
      assert.equal(errorCode(withoutCurrent), 'SLW_DEVICE_AUTH_INVALID');
      // The proposed key's signature is missing: the new key was never proven.
      const { body, signature } = await signedRotation(device, stranger);
      const withoutProposed = await t.app.inject({
        method: 'POST',
        url: `${DEVICES}/keys`,
        headers: { ...bearer(token), 'content-type': 'application/json', [DEVICE_SIGNATURE_HEADER]: signature },
        payload: body,
      });
      assert.equal(errorCode(withoutProposed), 'SLW_DEVICE_AUTH_INVALID');
    });

    test('inventory reports are stored, capped, and filter the device list', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const device = testDevice(nextSerial());
      const { token, deviceId } = (await authenticate(t.app, device, { certificate: await factory.issue(device) })).json() as {
        token: string;
        deviceId: string;
      };
      const attributes = { device_type: `gw-${name}`, artifact_name: 'base', artifact_version: '1.0.0', kernel: '6.1.0' };
      const put = await t.app.inject({ method: 'PUT', url: `${DEVICES}/inventory`, headers: bearer(token), payload: { attributes } });
      assert.equal(put.statusCode, 204, put.body);
      const shown = (await t.app.inject({ url: `${API}/devices/${deviceId}`, headers: bearer(admin) })).json() as {
        deviceType: string;
        inventory: Record<string, string>;
      };
      assert.equal(shown.deviceType, `gw-${name}`);
      assert.deepEqual(shown.inventory, attributes);
      const filtered = await t.app.inject({
        url: `${API}/devices?status=accepted&attr.device_type=gw-${name}&attr.kernel=6.1.0`,
        headers: bearer(admin),
      });
      assert.deepEqual(
        (filtered.json() as { devices: { id: string }[] }).devices.map((d) => d.id),
        [deviceId],
      );
      const tooMany = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`a${i}`, 'x']));
      const capped = await t.app.inject({
        method: 'PUT',
        url: `${DEVICES}/inventory`,
        headers: bearer(token),
        payload: { attributes: tooMany },
      });
      assert.equal(capped.statusCode, 400);
      const long = await t.app.inject({
        method: 'PUT',
        url: `${DEVICES}/inventory`,
        headers: bearer(token),
        payload: { attributes: { os: 'x'.repeat(1025) } },
      });
      assert.equal(long.statusCode, 400);
    });

    test('nonces are forgotten once they could only come with a stale timestamp', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const count = async () =>
        Number(
          (
            await t.db
              .selectFrom('deviceNonce')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      assert.ok((await count()) > 0);
      // Eleven minutes on: every nonce so far is past its window, and the next request prunes them.
      t.advance(11 * 60_000);
      await authenticate(t.app, testDevice(nextSerial()), { timestamp: new Date(Date.now() + 11 * 60_000) });
      assert.equal(await count(), 1);
    });

    test('lists devices a page at a time with the total', async (ctx) => {
      if (!target) return ctx.skip(SKIP);
      const all = (await t.app.inject({ url: `${API}/devices?perPage=500`, headers: bearer(admin) })).json() as {
        total: number;
        devices: unknown[];
      };
      assert.equal(all.devices.length, all.total);
      const page2 = (await t.app.inject({ url: `${API}/devices?perPage=2&page=2`, headers: bearer(admin) })).json() as {
        devices: { id: string }[];
        page: number;
      };
      assert.equal(page2.page, 2);
      assert.deepEqual(
        page2.devices.map((d) => d.id),
        (all.devices as { id: string }[]).slice(2, 4).map((d) => d.id),
      );
      const unknownFilter = await t.app.inject({ url: `${API}/devices?colour=red`, headers: bearer(admin) });
      assert.equal(unknownFilter.statusCode, 400);
    });
  });
}

test('a key type the fleet policy leaves out is refused even though the built-in policy allows it', async () => {
  const target = await sqliteDatabase();
  const t = await testApp(target, { devices: { keyTypes: ['ecdsa-p256'] } });
  try {
    const response = await authenticate(t.app, testDevice('GW-ed', 'ed25519'));
    assert.equal(errorCode(response), 'SLW_DEVICE_KEY_REFUSED');
    assert.equal(errorCode(await authenticate(t.app, testDevice('GW-ec', 'ecdsa-p256'))), 'SLW_DEVICE_PENDING');
  } finally {
    await t.close();
    await target.cleanup();
  }
});

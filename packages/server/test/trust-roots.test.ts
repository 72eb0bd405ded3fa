import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseRoot } from '@slipway/core';
import { ADMIN_PASSWORD, API, bearer, login, type TestApp, testApp } from './support/app.js';
import { DIALECTS, type TestDatabase } from './support/databases.js';
import { authenticate, DEVICES, errorCode, type TestCa, testCa, testDevice } from './support/device.js';
import { newSigner, signedRoot } from './support/trust.js';

for (const [name, make] of DIALECTS) {
  describe(`trust roots on ${name}`, () => {
    let target: TestDatabase | null;
    let t: TestApp;
    let admin: string;
    let ca: TestCa;
    const root1Key = newSigner();
    const root2Key = newSigner();
    const release = newSigner();

    before(async () => {
      target = await make();
      if (!target) return;
      ca = await testCa('Factory');
      t = await testApp(target, { manufacturingCas: [new X509Certificate(ca.cert)] });
      admin = await login(t.app, 'admin', ADMIN_PASSWORD);
    });
    after(async () => {
      if (!target) return;
      await t.close();
      await target.cleanup();
    });

    const upload = (document: string) =>
      t.app.inject({
        method: 'POST',
        url: `${API}/trust/roots`,
        headers: { ...bearer(admin), 'content-type': 'application/json' },
        payload: document,
      });

    test('the first root must verify on its own, and is served exactly as uploaded', async (ctx) => {
      if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const expired = await signedRoot({
        version: 1,
        rootKeys: [root1Key],
        releaseKeys: [release],
        signers: [root1Key],
        expires: new Date(Date.now() - 1000),
      });
      assert.equal(errorCode(await upload(expired)), 'SLW_TRUST_ROOT_EXPIRED');
      const unsigned = await signedRoot({ version: 1, rootKeys: [root1Key], releaseKeys: [release], signers: [] });
      assert.equal(errorCode(await upload(unsigned)), 'SLW_TRUST_ROOT_THRESHOLD');
      const root1 = await signedRoot({ version: 1, rootKeys: [root1Key], releaseKeys: [release], signers: [root1Key] });
      const created = await upload(root1);
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().version, 1);
      assert.equal((await upload(root1)).statusCode, 201, 'the same root again is harmless');
      const served = await t.app.inject({ url: `${API}/trust/roots/1`, headers: bearer(admin) });
      assert.equal(served.body, root1);
      assert.equal(parseRoot(Buffer.from(served.body)).version, 1);
    });

    test('a rotation must be the next version, signed by the previous root keys and its own', async (ctx) => {
      if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const skipAhead = await signedRoot({ version: 3, rootKeys: [root2Key], releaseKeys: [release], signers: [root1Key, root2Key] });
      assert.equal(errorCode(await upload(skipAhead)), 'SLW_TRUST_ROOT_VERSION');
      const hijack = await signedRoot({ version: 2, rootKeys: [root2Key], releaseKeys: [release], signers: [root2Key] });
      assert.equal(errorCode(await upload(hijack)), 'SLW_TRUST_ROOT_OLD_THRESHOLD');
      const root2 = await signedRoot({ version: 2, rootKeys: [root2Key], releaseKeys: [release], signers: [root1Key, root2Key] });
      assert.equal((await upload(root2)).statusCode, 201);
      const other1 = await signedRoot({ version: 1, rootKeys: [root2Key], releaseKeys: [release], signers: [root2Key] });
      assert.equal(errorCode(await upload(other1)), 'SLW_TRUST_ROOT_VERSION');
      const listed = (await t.app.inject({ url: `${API}/trust/roots`, headers: bearer(admin) })).json() as { version: number }[];
      assert.deepEqual(
        listed.map((r) => r.version),
        [1, 2],
      );
      assert.equal(errorCode(await t.app.inject({ url: `${API}/trust/roots/7`, headers: bearer(admin) })), 'SLW_TRUST_ROOT_NOT_FOUND');
    });

    test('an accepted device fetches each root of the chain to walk it', async (ctx) => {
      if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const device = testDevice('GW-ROOTS');
      const { token } = (await authenticate(t.app, device, { certificate: await ca.issue(device) })).json() as { token: string };
      const fetched = await t.app.inject({ url: `${DEVICES}/trust/roots/2`, headers: bearer(token) });
      assert.equal(fetched.statusCode, 200);
      assert.equal(parseRoot(Buffer.from(fetched.body)).version, 2);
      assert.equal((await t.app.inject({ url: `${DEVICES}/trust/roots/2` })).statusCode, 401);
    });
  });
}

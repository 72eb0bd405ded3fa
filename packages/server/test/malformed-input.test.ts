// Every route, management and device alike, given malformed input by an authorized caller, answers
// a coded 4xx: never a 5xx, never an uncoded error. Built from the registered routes, so a route
// added later is covered without a line here.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, API, bearer, login, type TestApp, testApp } from './support/app.js';
import { sqliteDatabase, type TestDatabase } from './support/databases.js';
import { authenticate, DEVICES, testCa, testDevice } from './support/device.js';

let target: TestDatabase;
let t: TestApp;
let adminToken: string;
let deviceToken: string;

before(async () => {
  target = await sqliteDatabase();
  const ca = await testCa('Factory');
  t = await testApp(target, { manufacturingCas: [new X509Certificate(ca.cert)] });
  adminToken = await login(t.app, 'admin', ADMIN_PASSWORD);
  const device = testDevice('GW-malformed');
  deviceToken = ((await authenticate(t.app, device, { certificate: await ca.issue(device) })).json() as { token: string }).token;
});
after(async () => {
  await t.close();
  await target.cleanup();
});

const BAD_PARAMS = ['%00', 'x'.repeat(300), '..%2F..%2Fetc%2Fpasswd', '%E2%80%AE', "1'%20or%20'1'='1"];
const BAD_BODIES: { body: string; type: string }[] = [
  { body: '', type: 'application/json' },
  { body: '{', type: 'application/json' },
  { body: '[]', type: 'application/json' },
  { body: 'null', type: 'application/json' },
  { body: '"text"', type: 'application/json' },
  { body: '{"unexpected":1}', type: 'application/json' },
  { body: '{"__proto__":{"admin":true}}', type: 'application/json' },
  {
    body: JSON.stringify({ identity: { serial: 1 }, publicKey: 42, attributes: 'x', devices: 'x', username: [], role: {} }),
    type: 'application/json',
  },
  {
    body: JSON.stringify({ attributes: { ['x'.repeat(100)]: 'y' }, devices: [{ identity: {}, publicKey: 'not a key' }] }),
    type: 'application/json',
  },
  { body: 'name=x', type: 'application/x-www-form-urlencoded' },
  { body: '<xml/>', type: 'text/xml' },
];
const BAD_QUERIES = ['?page=0', '?perPage=100000', '?status=lost', '?page=abc', '?attr.=x', `?attr.serial=${'x'.repeat(2000)}`];

interface Attempt {
  readonly url: string;
  readonly body?: string;
  readonly type?: string;
}

test('every route answers malformed input with a coded 4xx, never a 5xx', async () => {
  const routes = t.routes.filter((r) => r.url.startsWith(API) || r.url.startsWith(DEVICES));
  assert.ok(routes.length >= 20, `${routes.length} routes`);
  let requests = 0;
  for (const route of routes) {
    const headers = route.url.startsWith(DEVICES) ? (route.url.endsWith('/auth') ? {} : bearer(deviceToken)) : bearer(adminToken);
    const urls = route.url.includes(':') ? BAD_PARAMS.map((p) => route.url.replace(/:[a-zA-Z]+/g, p)) : [route.url];
    for (const url of urls) {
      const attempts: Attempt[] =
        route.method === 'GET' || route.method === 'DELETE'
          ? (route.url.includes(':') ? [''] : BAD_QUERIES).map((q) => ({ url: url + q }))
          : BAD_BODIES.map((b) => ({ url, body: b.body, type: b.type }));
      for (const attempt of attempts) {
        const response = await t.app.inject({
          method: route.method as 'GET',
          url: attempt.url,
          headers: { ...headers, ...(attempt.type ? { 'content-type': attempt.type } : {}) },
          ...(attempt.body !== undefined ? { body: attempt.body } : {}),
        });
        requests++;
        const label = `${route.method} ${attempt.url.slice(0, 120)} ${attempt.body?.slice(0, 60) ?? ''}`;
        if (response.statusCode < 400) continue; // Some "malformed" inputs are valid for a lenient route (an unknown serial).
        assert.ok(response.statusCode < 500, `${label}: ${response.statusCode} ${response.body}`);
        assert.match(
          (response.json() as { error?: { code?: string } }).error?.code ?? '',
          /^SLW_[A-Z_]+$/,
          `${label}: ${response.statusCode} ${response.body}`,
        );
      }
    }
  }
  assert.ok(requests > 200, `${requests} requests`);
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, API, type TestApp, testApp } from './support/app.js';
import { sqliteDatabase, type TestDatabase } from './support/databases.js';

let target: TestDatabase;
let t: TestApp;
let cookies: string;
let csrf: string;
before(async () => {
  target = await sqliteDatabase();
  t = await testApp(target);
  const login = await t.app.inject({ method: 'POST', url: `${API}/auth/login`, payload: { username: 'admin', password: ADMIN_PASSWORD } });
  const set = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
  assert.equal(set.length, 2);
  const session = set.find((c) => c.startsWith('__Host-slipway_session=')) as string;
  const csrfCookie = set.find((c) => c.startsWith('__Host-slipway_csrf=')) as string;
  for (const attribute of ['Path=/', 'Secure', 'SameSite=Strict', 'Max-Age=43200']) {
    assert.ok(session.includes(attribute) && csrfCookie.includes(attribute), attribute);
  }
  assert.ok(session.includes('HttpOnly') && !csrfCookie.includes('HttpOnly'), 'the UI can read the CSRF cookie, never the session');
  csrf = (csrfCookie.split(';')[0] as string).split('=')[1] as string;
  cookies = set.map((c) => c.split(';')[0]).join('; ');
});
after(async () => {
  await t.close();
  await target.cleanup();
});

test('the session cookie authenticates reads without a CSRF header', async () => {
  const response = await t.app.inject({ url: `${API}/auth/whoami`, headers: { cookie: cookies } });
  assert.equal(response.statusCode, 200, response.body);
});

test('a change made with the session cookie needs the matching CSRF header (SLW_AUTH_CSRF)', async () => {
  const payload = { name: 'from-browser', role: 'viewer' };
  const missing = await t.app.inject({ method: 'POST', url: `${API}/tokens`, headers: { cookie: cookies }, payload });
  assert.equal(missing.statusCode, 403);
  assert.equal((missing.json() as { error: { code: string } }).error.code, 'SLW_AUTH_CSRF');
  const wrong = await t.app.inject({
    method: 'POST',
    url: `${API}/tokens`,
    headers: { cookie: cookies, 'x-slipway-csrf': `${csrf.slice(0, -1)}x` },
    payload,
  });
  assert.equal(wrong.statusCode, 403);
  const right = await t.app.inject({ method: 'POST', url: `${API}/tokens`, headers: { cookie: cookies, 'x-slipway-csrf': csrf }, payload });
  assert.equal(right.statusCode, 201, right.body);
});

test('logout with the cookie ends that session and clears both cookies', async () => {
  const out = await t.app.inject({ method: 'POST', url: `${API}/auth/logout`, headers: { cookie: cookies, 'x-slipway-csrf': csrf } });
  assert.equal(out.statusCode, 204);
  assert.ok(([] as string[]).concat(out.headers['set-cookie'] ?? []).every((c) => c.includes('Max-Age=0')));
  assert.equal((await t.app.inject({ url: `${API}/auth/whoami`, headers: { cookie: cookies } })).statusCode, 401);
});

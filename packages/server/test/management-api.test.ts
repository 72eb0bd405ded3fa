import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RouteOptions } from 'fastify';
import { PERMISSIONS, ROLES } from '../src/auth/roles.js';
import { requireAuditAction } from '../src/http/management-api/failed-change-audit.js';
import { ADMIN_PASSWORD, API, bearer, login, type TestApp, testApp } from './support/app.js';
import { DIALECTS, sqliteDatabase, type TestDatabase } from './support/databases.js';

async function tokenFor(t: TestApp, adminToken: string, role: string): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: `${API}/tokens`,
    headers: bearer(adminToken),
    payload: { name: `matrix-${role}`, role },
  });
  assert.equal(response.statusCode, 201, response.body);
  return (response.json() as { token: string }).token;
}

/** A concrete URL for a route pattern: parameters get plausible values. */
function concrete(url: string): string {
  return url.replace(':username', 'no-such-user').replace(':id', '00000000-0000-4000-8000-000000000000');
}

describe('management API authorization', () => {
  let target: TestDatabase;
  let t: TestApp;
  let adminToken: string;
  const roleTokens = new Map<string, string>();
  before(async () => {
    target = await sqliteDatabase();
    t = await testApp(target);
    adminToken = await login(t.app, 'admin', ADMIN_PASSWORD);
    for (const role of ROLES) roleTokens.set(role, await tokenFor(t, adminToken, role));
  });
  after(async () => {
    await t.close();
    await target.cleanup();
  });

  test('every management route declares a permission from the table', () => {
    const management = t.routes.filter((r) => r.url.startsWith(API));
    assert.ok(management.length >= 9);
    for (const route of management) {
      assert.ok(
        route.permission === 'public' || (route.permission !== undefined && route.permission in PERMISSIONS),
        `${route.method} ${route.url} has no permission`,
      );
    }
  });

  test('role x route: 401 without credentials, 403 for roles the table does not list, never 401/403 for roles it does', async () => {
    const management = t.routes.filter((r) => r.url.startsWith(API) && r.permission !== 'public' && !r.url.endsWith('/auth/logout'));
    for (const route of management) {
      const url = concrete(route.url);
      const anonymous = await t.app.inject({ method: route.method as 'GET', url });
      assert.equal(anonymous.statusCode, 401, `${route.method} ${route.url} without credentials`);
      for (const role of ROLES) {
        // A body that fails validation: authorization must still be decided first.
        const response = await t.app.inject({
          method: route.method as 'GET',
          url,
          headers: bearer(roleTokens.get(role) as string),
          payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : { bogus: true },
        });
        const allowed = (PERMISSIONS[route.permission as keyof typeof PERMISSIONS] as readonly string[]).includes(role);
        if (allowed)
          assert.ok(
            ![401, 403].includes(response.statusCode),
            `${role} ${route.method} ${route.url}: ${response.statusCode} ${response.body}`,
          );
        else assert.equal(response.statusCode, 403, `${role} ${route.method} ${route.url}: ${response.body}`);
      }
    }
  });

  test("whoami lists exactly the permissions of the caller's role, sorted", async () => {
    const whoami = async (token: string) =>
      (await t.app.inject({ url: `${API}/auth/whoami`, headers: bearer(token) })).json() as { role: string; permissions: string[] };
    const viewer = await whoami(roleTokens.get('viewer') as string);
    assert.equal(viewer.role, 'viewer');
    assert.ok(viewer.permissions.includes('devices.read'));
    assert.ok(!viewer.permissions.includes('devices.admit'));
    const admin = await whoami(adminToken);
    assert.ok(admin.permissions.includes('users.write'));
    assert.deepEqual(admin.permissions, Object.keys(PERMISSIONS).sort());
    for (const role of ROLES) {
      const { permissions } = await whoami(roleTokens.get(role) as string);
      assert.deepEqual(
        permissions,
        Object.entries(PERMISSIONS)
          .filter(([, roles]) => (roles as readonly string[]).includes(role))
          .map(([permission]) => permission)
          .sort(),
        role,
      );
    }
  });

  test('revoking a token, disabling a user and changing a role take effect on the very next request', async () => {
    const token = await tokenFor(t, adminToken, 'admin');
    assert.equal((await t.app.inject({ url: `${API}/users`, headers: bearer(token) })).statusCode, 200);
    const listed = (await t.app.inject({ url: `${API}/tokens`, headers: bearer(adminToken) })).json() as {
      id: string;
      name: string;
      revokedAt: string | null;
    }[];
    const id = listed.filter((x) => x.revokedAt === null && x.name === 'matrix-admin').at(-1)?.id as string;
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${API}/tokens/${id}`, headers: bearer(adminToken) })).statusCode, 204);
    assert.equal((await t.app.inject({ url: `${API}/users`, headers: bearer(token) })).statusCode, 401, 'revoked token');

    const created = await t.app.inject({
      method: 'POST',
      url: `${API}/users`,
      headers: bearer(adminToken),
      payload: { username: 'ops', password: 'a long enough password', role: 'admin' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const session = await login(t.app, 'ops', 'a long enough password');
    assert.equal((await t.app.inject({ url: `${API}/users`, headers: bearer(session) })).statusCode, 200);
    await t.app.inject({ method: 'PUT', url: `${API}/users/ops/role`, headers: bearer(adminToken), payload: { role: 'viewer' } });
    assert.equal((await t.app.inject({ url: `${API}/users`, headers: bearer(session) })).statusCode, 403, 'role changed to viewer');
    await t.app.inject({ method: 'POST', url: `${API}/users/ops/disable`, headers: bearer(adminToken) });
    assert.equal((await t.app.inject({ url: `${API}/auth/whoami`, headers: bearer(session) })).statusCode, 401, 'user disabled');
  });

  test('a token is shown once and listed without its secret or hash', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: `${API}/tokens`,
      headers: bearer(adminToken),
      payload: { name: 'ci-nightly', role: 'ci' },
    });
    const secret = (created.json() as { token: string }).token;
    assert.match(secret, /^slw_t_[A-Za-z0-9_-]{43}$/);
    const listing = (await t.app.inject({ url: `${API}/tokens`, headers: bearer(adminToken) })).body;
    assert.ok(!listing.includes(secret) && !listing.includes('tokenHash'));
  });

  test('malformed input gets a coded 4xx, never a 5xx', async () => {
    const cases: { method: 'POST' | 'PUT' | 'DELETE'; url: string; payload?: unknown; body?: string }[] = [
      { method: 'POST', url: `${API}/users`, payload: { username: 'x', password: 'short', role: 'admin' } },
      { method: 'POST', url: `${API}/users`, payload: { username: 'Bad Name', password: 'a long enough password', role: 'admin' } },
      { method: 'POST', url: `${API}/users`, payload: { username: 'newbie', password: 'a long enough password', role: 'superuser' } },
      { method: 'POST', url: `${API}/users`, payload: { username: 'admin', password: 'a long enough password', role: 'admin' } },
      {
        method: 'POST',
        url: `${API}/users`,
        payload: { username: 'extra', password: 'a long enough password', role: 'viewer', isAdmin: true },
      },
      { method: 'POST', url: `${API}/users`, body: '{not json' },
      { method: 'POST', url: `${API}/users`, payload: [1, 2, 3] },
      { method: 'PUT', url: `${API}/users/nobody/role`, payload: { role: 'viewer' } },
      { method: 'PUT', url: `${API}/users/admin/role`, payload: { role: 42 } },
      { method: 'DELETE', url: `${API}/tokens/not-a-uuid` },
      { method: 'DELETE', url: `${API}/tokens/00000000-0000-4000-8000-000000000000` },
      { method: 'POST', url: `${API}/tokens`, payload: { name: '', role: 'ci' } },
      { method: 'POST', url: `${API}/tokens`, payload: { name: 'x', role: 'ci', expiresAt: 'tomorrow' } },
    ];
    for (const c of cases) {
      const response = await t.app.inject({
        method: c.method,
        url: c.url,
        headers: { ...bearer(adminToken), ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(c.body !== undefined ? { body: c.body } : c.payload !== undefined ? { payload: c.payload as object } : {}),
      });
      assert.ok(
        response.statusCode >= 400 && response.statusCode < 500,
        `${c.method} ${c.url} ${JSON.stringify(c.payload ?? c.body)}: ${response.statusCode} ${response.body}`,
      );
      assert.match((response.json() as { error: { code: string } }).error.code, /^SLW_[A-Z_]+$/);
    }
  });

  test('every route that changes state names its audit action, and one that does not stops the server from starting', () => {
    const changes = t.routes.filter((r) => r.url.startsWith(API) && !['GET', 'HEAD'].includes(r.method));
    assert.ok(changes.length >= 7);
    for (const route of changes) assert.match(route.audit ?? '', /^[a-z]+(\.[a-z-]+)?$/, `${route.method} ${route.url}`);
    const unaudited = { method: 'DELETE', url: `${API}/things/:id`, config: { permission: 'users.write' } } as unknown as RouteOptions;
    assert.throws(() => requireAuditAction(unaudited), /changes state but names no audit action/);
    assert.doesNotThrow(() => requireAuditAction({ ...unaudited, method: 'GET' } as RouteOptions));
  });

  test('a change that fails is audited with its actor, route, status and error code before the reply', async () => {
    const viewerToken = roleTokens.get('viewer') as string;
    const admin = await t.db.selectFrom('user').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    const failures = async () =>
      (await t.db.selectFrom('auditEntry').selectAll().where('outcome', '=', 'failure').orderBy('seq').execute()).map((e) => ({
        actorId: e.actorId,
        action: e.action,
        target: e.target,
        details: JSON.parse(e.details ?? '{}'),
      }));
    const before = (await failures()).length;
    const duplicate = await t.app.inject({
      method: 'POST',
      url: `${API}/users`,
      headers: bearer(adminToken),
      payload: { username: 'admin', password: 'a long enough password', role: 'viewer' },
    });
    const invalid = await t.app.inject({
      method: 'PUT',
      url: `${API}/users/admin/role`,
      headers: bearer(adminToken),
      payload: { role: 42 },
    });
    const missing = await t.app.inject({
      method: 'DELETE',
      url: `${API}/tokens/00000000-0000-4000-8000-000000000000`,
      headers: bearer(adminToken),
    });
    // Refused by the auth hook: audited as access.denied, not twice.
    const forbidden = await t.app.inject({
      method: 'POST',
      url: `${API}/users/admin/disable`,
      headers: bearer(viewerToken),
    });
    assert.equal(forbidden.statusCode, 403);
    const code = (r: { json(): unknown }) => (r.json() as { error: { code: string } }).error.code;
    assert.deepEqual((await failures()).slice(before), [
      {
        actorId: admin.id,
        action: 'user.create',
        target: `POST ${API}/users`,
        details: { status: duplicate.statusCode, code: code(duplicate) },
      },
      {
        actorId: admin.id,
        action: 'user.set-role',
        target: `PUT ${API}/users/:username/role`,
        details: { status: 400, code: code(invalid) },
      },
      {
        actorId: admin.id,
        action: 'token.revoke',
        target: `DELETE ${API}/tokens/:id`,
        details: { status: missing.statusCode, code: code(missing) },
      },
    ]);
    assert.ok(duplicate.statusCode >= 400 && missing.statusCode >= 400);
  });

  test('brute-forced logins are throttled, even with the right password, and the error never says whether the user exists', async () => {
    const wrong = (username: string) =>
      t.app.inject({ method: 'POST', url: `${API}/auth/login`, payload: { username, password: 'wrong' }, remoteAddress: '10.9.9.9' });
    const unknown = await wrong('nobody-here');
    const known = await wrong('admin');
    assert.deepEqual([unknown.statusCode, known.statusCode], [401, 401]);
    assert.equal(unknown.body, known.body);
    for (let i = 0; i < 5; i++) await wrong('admin');
    const right = await t.app.inject({
      method: 'POST',
      url: `${API}/auth/login`,
      payload: { username: 'admin', password: ADMIN_PASSWORD },
      remoteAddress: '10.9.9.9',
    });
    assert.equal(right.statusCode, 429, 'locked out while throttled');
    assert.ok(Number(right.headers['retry-after']) >= 1);
    t.advance(60_000);
    const later = await t.app.inject({
      method: 'POST',
      url: `${API}/auth/login`,
      payload: { username: 'admin', password: ADMIN_PASSWORD },
      remoteAddress: '10.9.9.9',
    });
    assert.equal(later.statusCode, 200, later.body);
  });

  test('security events carry a severity: token use after revocation, failed logins past the free ones, role changes', async () => {
    const events = async (action: string) =>
      (await t.db.selectFrom('auditEntry').select(['details']).where('action', '=', action).orderBy('seq').execute()).map(
        (e) => (JSON.parse(e.details ?? '{}') as { severity?: string }).severity,
      );
    const token = await tokenFor(t, adminToken, 'viewer');
    const id = ((await t.app.inject({ url: `${API}/tokens`, headers: bearer(adminToken) })).json() as { id: string; revokedAt: null }[])
      .filter((x) => x.revokedAt === null)
      .at(-1)?.id as string;
    await t.app.inject({ method: 'DELETE', url: `${API}/tokens/${id}`, headers: bearer(adminToken) });
    assert.equal((await t.app.inject({ url: `${API}/auth/whoami`, headers: bearer(token) })).statusCode, 401);
    assert.equal((await events('token.used-after-revocation')).at(-1), 'critical');
    assert.equal((await events('token.revoke')).at(-1), 'warning');

    // Seven failures, each after the previous lock-out ends (15 min at most) but within the hour that keeps the count.
    for (let i = 0; i < 7; i++) {
      const response = await t.app.inject({
        method: 'POST',
        url: `${API}/auth/login`,
        payload: { username: 'severity-probe', password: 'wrong password' },
        remoteAddress: '10.7.7.7',
      });
      assert.equal(response.statusCode, 401, response.body);
      t.advance(16 * 60_000);
    }
    const failed = await events('login.failed');
    assert.deepEqual(failed.slice(-2), ['warning', 'warning'], 'repeated failures escalate');
    assert.ok(failed.includes('info'), 'the first failures are only information');

    await t.app.inject({
      method: 'POST',
      url: `${API}/users`,
      headers: bearer(adminToken),
      payload: { username: 'promoted', password: 'a long enough password', role: 'viewer' },
    });
    await t.app.inject({ method: 'PUT', url: `${API}/users/promoted/role`, headers: bearer(adminToken), payload: { role: 'admin' } });
    assert.equal((await events('user.set-role')).at(-1), 'warning');
  });

  test('every change and login lands in an audit chain that verifies', async () => {
    const verdict = (await t.app.inject({ url: `${API}/audit/verify`, headers: bearer(adminToken) })).json() as {
      ok: boolean;
      entries: number;
    };
    assert.equal(verdict.ok, true);
    assert.ok(verdict.entries >= 15, `${verdict.entries} entries`);
  });
});

for (const [name, make] of DIALECTS) {
  test(`login, token and revocation on ${name}`, async (ctx) => {
    const target = await make();
    if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
    const t = await testApp(target);
    try {
      const session = await login(t.app, 'admin', ADMIN_PASSWORD);
      const token = await tokenFor(t, session, 'viewer');
      assert.equal((await t.app.inject({ url: `${API}/auth/whoami`, headers: bearer(token) })).json().role, 'viewer');
      await t.app.inject({ method: 'POST', url: `${API}/auth/logout`, headers: bearer(session) });
      assert.equal((await t.app.inject({ url: `${API}/users`, headers: bearer(session) })).statusCode, 401);
    } finally {
      await t.close();
      await target.cleanup();
    }
  });
}

for (const [name, make] of DIALECTS) {
  test(`audit entries filter by action prefix, actor and severity, and page newest first on ${name}`, async (ctx) => {
    const target = await make();
    if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
    const t = await testApp(target);
    try {
      const admin = await login(t.app, 'admin', ADMIN_PASSWORD);
      for (const username of ['carol', 'dave', 'erin'])
        await t.app.inject({
          method: 'POST',
          url: `${API}/users`,
          headers: bearer(admin),
          payload: { username, password: 'a long enough password', role: 'viewer' },
        });
      await t.app.inject({ method: 'POST', url: `${API}/users/dave/disable`, headers: bearer(admin) });
      await t.app.inject({ method: 'POST', url: `${API}/auth/login`, payload: { username: 'erin', password: 'wrong password' } });
      type Page = { entries: { seq: number; action: string; actorId: string | null; details: string | null }[]; next: number | null };
      const entries = async (query: string): Promise<Page> => {
        const response = await t.app.inject({ url: `${API}/audit/entries${query}`, headers: bearer(admin) });
        assert.equal(response.statusCode, 200, `${query}: ${response.body}`);
        return response.json() as Page;
      };
      const everything = await entries('');
      assert.equal(everything.next, null);
      assert.deepEqual(
        everything.entries.map((e) => e.seq),
        everything.entries.map((_, i) => i + 1),
        'oldest first by default',
      );
      const users = await entries('?action=user.');
      assert.deepEqual(
        users.entries.map((e) => e.action),
        ['user.create', 'user.create', 'user.create', 'user.disable'],
      );
      const adminId = users.entries[0]?.actorId as string;
      const byAdmin = await entries(`?actor=${encodeURIComponent(adminId)}`);
      assert.ok(byAdmin.entries.length >= 5 && byAdmin.entries.every((e) => e.actorId === adminId));
      const warnings = await entries('?severity=warning');
      assert.ok(warnings.entries.some((e) => e.action === 'user.disable'));
      assert.ok(warnings.entries.every((e) => JSON.parse(e.details as string).severity === 'warning'));
      const any = await entries('?severity=any&order=desc');
      assert.ok(any.entries.every((e) => ['warning', 'critical'].includes(JSON.parse(e.details as string).severity)));
      assert.deepEqual(
        any.entries.map((e) => e.seq),
        [...any.entries.map((e) => e.seq)].sort((a, b) => b - a),
      );

      const walked: number[] = [];
      let query = '?order=desc&limit=2';
      for (let pages = 0; pages < 100; pages++) {
        const page = await entries(query);
        walked.push(...page.entries.map((e) => e.seq));
        if (page.next === null) break;
        query = `?order=desc&limit=2&before=${page.next}`;
      }
      assert.deepEqual(walked, everything.entries.map((e) => e.seq).reverse());
      for (const bad of [
        '?action=user%25',
        '?action=a%20b',
        `?action=${'a'.repeat(65)}`,
        '?severity=info',
        '?order=up',
        '?actor=',
        '?who=x',
      ])
        assert.equal((await t.app.inject({ url: `${API}/audit/entries${bad}`, headers: bearer(admin) })).statusCode, 400, bad);
    } finally {
      await t.close();
      await target.cleanup();
    }
  });
}

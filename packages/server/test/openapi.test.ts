import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type TestApp, testApp } from './support/app.js';
import { sqliteDatabase, type TestDatabase } from './support/databases.js';

let target: TestDatabase;
let t: TestApp;
before(async () => {
  target = await sqliteDatabase();
  t = await testApp(target);
});
after(async () => {
  await t.close();
  await target.cleanup();
});

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>;
}

test('/api/openapi.json describes every management route, generated from the routes themselves', async () => {
  const response = await t.app.inject({ url: '/api/openapi.json' });
  assert.equal(response.statusCode, 200);
  const spec = response.json() as OpenApi;
  assert.match(spec.openapi, /^3\./);
  const documented = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  const registered = t.routes
    .filter((r) => r.url.startsWith('/api/management/'))
    .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  for (const route of registered) assert.ok(documented.includes(route), `${route} is missing from the OpenAPI document`);
  assert.deepEqual(spec.paths['/api/management/v1/auth/login']?.post?.security, [], 'login needs no credentials');
  assert.ok(spec.paths['/api/management/v1/users']?.post?.requestBody, 'request schemas are included');
});

test('Swagger UI is served at /api/docs', async () => {
  const response = await t.app.inject({ url: '/api/docs/' });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /text\/html/);
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PERMISSIONS, ROLES } from '../src/auth/roles.js';
import { type TestApp, testApp } from './support/app.js';
import { sqliteDatabase, type TestDatabase } from './support/databases.js';

const DOC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../docs/rbac.md');
let target: TestDatabase;
let t: TestApp;
let doc: string;
before(async () => {
  target = await sqliteDatabase();
  t = await testApp(target);
  doc = await readFile(DOC, 'utf8');
});
after(async () => {
  await t.close();
  await target.cleanup();
});

function cells(line: string): string[] {
  return line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}

test('docs/rbac.md shows exactly the permission matrix of the code', () => {
  const lines = doc.split('\n');
  const header = lines.find((l) => l.startsWith('| permission'));
  assert.deepEqual(cells(header as string).slice(1), [...ROLES]);
  const rows = lines.filter((l) => /^\| `[a-z.]+` +\|/.test(l) && !l.includes('/api/'));
  assert.deepEqual(
    rows.map(cells),
    Object.entries(PERMISSIONS).map(([permission, roles]) => [
      `\`${permission}\``,
      ...ROLES.map((r) => ((roles as readonly string[]).includes(r) ? 'yes' : '—')),
    ]),
  );
});

test('docs/rbac.md lists every management route with its permission', () => {
  const documented = doc
    .split('\n')
    .filter((l) => l.includes('`') && l.includes('/api/management/'))
    .map((l) => cells(l).map((c) => c.replaceAll('`', '')));
  const registered = t.routes.filter((r) => r.url.startsWith('/api/management/')).map((r) => [`${r.method} ${r.url}`, r.permission]);
  assert.deepEqual(new Set(documented.map((d) => d.join(' => '))), new Set(registered.map((r) => r.join(' => '))));
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadServerConfig, parseListen, redactConfig } from '../src/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function configFile(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

test('defaults to SQLite in ./slipway-data, TLS on 0.0.0.0:8443', async () => {
  const config = await loadServerConfig({}, {});
  assert.equal(config.listen, '0.0.0.0:8443');
  assert.equal(config.dataDir, './slipway-data');
  assert.equal(config.database.url, '');
  assert.equal(config.tls.behindProxy, false);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.tls), 'validated once and frozen');
});

test('layers defaults < file < SLIPWAY_* environment < flags, key by key', async () => {
  const file = await configFile('layers.json', { listen: '127.0.0.1:1000', dataDir: '/from-file', log: { level: 'warn' } });
  const env = { SLIPWAY_LISTEN: '127.0.0.1:2000', SLIPWAY_LOG_LEVEL: 'debug' };
  const config = await loadServerConfig({ configFile: file, listen: '127.0.0.1:3000' }, env);
  assert.equal(config.listen, '127.0.0.1:3000', 'the flag wins');
  assert.equal(config.log.level, 'debug', 'the environment beats the file');
  assert.equal(config.dataDir, '/from-file', 'the file beats the default');
});

test('web.dir defaults to empty (the @slipway/web package) and SLIPWAY_WEB_DIR sets it', async () => {
  assert.equal((await loadServerConfig({}, {})).web.dir, '');
  assert.equal((await loadServerConfig({}, { SLIPWAY_WEB_DIR: '/srv/slipway-ui' })).web.dir, '/srv/slipway-ui');
});

test('names an unknown key in the config file (SLW_CONFIG_UNKNOWN_KEY)', async () => {
  const file = await configFile('typo.json', { tls: { certFlie: '/x.pem' } });
  await assert.rejects(loadServerConfig({ configFile: file }, {}), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SLW_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /\/tls/);
    return true;
  });
});

const invalid: readonly [string, () => Promise<unknown>][] = [
  ['a listen address without a port', () => loadServerConfig({ listen: 'localhost' }, {})],
  ['a port above 65535', () => loadServerConfig({ listen: '127.0.0.1:70000' }, {})],
  ['a database URL that is not postgres://', () => loadServerConfig({ databaseUrl: 'mysql://x' }, {})],
  ['SLIPWAY_BEHIND_PROXY that is not true or false', () => loadServerConfig({}, { SLIPWAY_BEHIND_PROXY: 'yes' })],
  ['a log level that does not exist', () => loadServerConfig({}, { SLIPWAY_LOG_LEVEL: 'loud' })],
  ['a certificate without its key', () => loadServerConfig({}, { SLIPWAY_TLS_CERT_FILE: '/c.pem' })],
  ['a config file that is not JSON', async () => loadServerConfig({ configFile: await configFile('bad.json', '{') }, {})],
  ['a config file that does not exist', () => loadServerConfig({ configFile: join(dir, 'missing.json') }, {})],
];
for (const [what, load] of invalid) {
  test(`refuses ${what} with SLW_CONFIG_INVALID`, async () => {
    await assert.rejects(load(), { code: 'SLW_CONFIG_INVALID' });
  });
}

test('parses IPv4, IPv6 and host names in listen', () => {
  assert.deepEqual(parseListen('0.0.0.0:8443'), { host: '0.0.0.0', port: 8443 });
  assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseListen('gateway.example:443'), { host: 'gateway.example', port: 443 });
});

test('redacts the database password when the configuration is printed', async () => {
  const config = await loadServerConfig({ databaseUrl: 'postgres://slipway:hunter2@db:5432/slipway?sslpassword=x' }, {});
  const shown = JSON.stringify(redactConfig(config));
  assert.ok(!shown.includes('hunter2') && !shown.includes('sslpassword=x'), shown);
  assert.match(shown, /slipway:REDACTED@db:5432/);
});

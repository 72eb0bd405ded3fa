// slipway login / users / tokens / audit against a real server on loopback (HTTPS, pinned CA).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '@slipway/server';
import { assertFails, assertOk, parseJson, slipway } from './support/run.js';

const ADMIN_PASSWORD = 'admin password for cli tests';

describe('server commands', () => {
  let dir: string;
  let server: RunningServer;
  let configDir: string;
  let env: { configDir: string };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-cli-server-'));
    const config = await loadServerConfig({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0' }, {});
    server = await startServer(config, { logger: createLogger('silent'), adminPassword: ADMIN_PASSWORD });
    configDir = join(dir, 'config');
    env = { configDir };
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = () => server.url.replace('127.0.0.1', 'localhost');

  test('login needs the pinned CA, stores the session 0600, and never takes the password as a flag', async () => {
    assertFails(
      await slipway(['login', '--server', url(), '--username', 'admin', '--password-stdin'], { env, stdin: `${ADMIN_PASSWORD}\n` }),
      'SLW_SERVER_TLS_UNTRUSTED',
    );
    assertFails(
      await slipway(['login', '--server', url(), '--username', 'admin', '--ca', server.caFile as string], { env }),
      'SLW_USAGE_MISSING_OPTION',
    );
    assertFails(
      await slipway(['login', '--server', url(), '--username', 'admin', '--password-stdin', '--ca', server.caFile as string], {
        env,
        stdin: 'wrong\n',
      }),
      'SLW_AUTH_INVALID_CREDENTIALS',
    );
    const ok = await slipway(
      ['login', '--server', url(), '--username', 'admin', '--password-stdin', '--ca', server.caFile as string, '--json'],
      { env, stdin: `${ADMIN_PASSWORD}\n` },
    );
    assertOk(ok);
    assert.equal(parseJson<{ role: string }>(ok).role, 'admin');
    const sessionFile = join(configDir, 'session.json');
    assert.equal((await stat(sessionFile)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(sessionFile, 'utf8')).includes(ADMIN_PASSWORD));
  });

  test('users create, list, set-role and disable', async () => {
    assertOk(
      await slipway(['users', 'create', '--username', 'rm', '--role', 'release-manager', '--password-stdin'], {
        env,
        stdin: 'release manager password\n',
      }),
    );
    const listed = parseJson<{ username: string; role: string }[]>(await slipway(['users', 'list', '--json'], { env }));
    assert.deepEqual(listed.find((u) => u.username === 'rm')?.role, 'release-manager');
    assertOk(await slipway(['users', 'set-role', 'rm', '--role', 'viewer'], { env }));
    assertOk(await slipway(['users', 'disable', 'rm'], { env }));
    const after = parseJson<{ username: string; role: string; disabledAt: string | null }[]>(
      await slipway(['users', 'list', '--json'], { env }),
    );
    const rm = after.find((u) => u.username === 'rm');
    assert.equal(rm?.role, 'viewer');
    assert.ok(rm?.disabledAt);
    assertFails(await slipway(['users', 'set-role', 'nobody', '--role', 'viewer'], { env }), 'SLW_USER_NOT_FOUND');
    assertFails(
      await slipway(['users', 'create', '--username', 'x2', '--role', 'god', '--password-stdin'], { env, stdin: 'long enough password\n' }),
      'SLW_ROLE_UNKNOWN',
    );
  });

  test('tokens create --json prints {"token": ...}; the token works from SLIPWAY_TOKEN until it is revoked', async () => {
    const created = parseJson<{ token: string; id: string }>(
      await slipway(['tokens', 'create', '--name', 'ci-nightly', '--role', 'admin', '--expires', '30d', '--json'], { env }),
    );
    assert.match(created.token, /^slw_t_/);
    const ciEnv = { configDir: join(dir, 'nobody'), server: url(), token: created.token, ca: server.caFile as string };
    assertOk(await slipway(['users', 'list'], { env: ciEnv }));
    const listing = await slipway(['tokens', 'list', '--json'], { env });
    assert.ok(!listing.stdout.includes(created.token));
    assertOk(await slipway(['tokens', 'revoke', created.id], { env }));
    assertFails(await slipway(['users', 'list'], { env: ciEnv }), 'SLW_AUTH_REQUIRED');
  });

  test('audit verify exits 0 on an intact chain', async () => {
    const result = await slipway(['audit', 'verify', '--json'], { env });
    assertOk(result);
    assert.equal(parseJson<{ ok: boolean }>(result).ok, true);
  });

  test('audit export writes every entry with its hashes, as JSON or as CSV', async () => {
    const json = await slipway(['audit', 'export', '--format', 'json'], { env });
    assertOk(json);
    const entries = JSON.parse(json.stdout) as { seq: number; action: string; hash: string; prevHash: string }[];
    assert.ok(entries.length >= 5);
    assert.deepEqual(
      entries.map((e) => e.seq),
      entries.map((_, i) => i + 1),
    );
    assert.ok(entries.some((e) => e.action === 'login') && entries.every((e, i) => i === 0 || e.prevHash === entries[i - 1]?.hash));
    const csvFile = join(dir, 'audit.csv');
    assertOk(await slipway(['audit', 'export', '--format', 'csv', '--out', csvFile], { env }));
    const csv = (await readFile(csvFile, 'utf8')).trimEnd().split('\n');
    assert.equal(csv[0], 'seq,at,actorType,actorId,sourceIp,action,target,outcome,details,prevHash,hash');
    assert.equal(csv.length, entries.length + 1);
    assert.equal((await stat(csvFile)).mode & 0o777, 0o600);
    assertFails(await slipway(['audit', 'export', '--format', 'xml'], { env }), 'SLW_USAGE_INVALID_OPTION');
  });

  test('logout ends the session on the server and forgets it here', async () => {
    assertOk(await slipway(['logout'], { env }));
    assertFails(await slipway(['users', 'list'], { env }), 'SLW_SERVER_NOT_LOGGED_IN');
  });

  test('an unreachable server is one coded line', async () => {
    assertFails(
      await slipway(['users', 'list', '--server', 'https://127.0.0.1:1'], { env: { configDir: join(dir, 'none'), token: 'slw_s_x' } }),
      'SLW_SERVER_UNREACHABLE',
    );
  });
});

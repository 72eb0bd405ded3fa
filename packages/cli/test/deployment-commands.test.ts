// slipway deployments / reports against a real server on loopback, with simulated devices
// reporting over HTTPS while `--wait` follows the rollout.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '@slipway/server';
import { SimulatedDevice } from '@slipway/testkit';
import { WAIT_EXIT } from '../src/commands/deployments.js';
import { assertFails, assertOk, parseJson, slipway } from './support/run.js';

const ADMIN_PASSWORD = 'admin password for deployment commands';

describe('deployment and report commands', () => {
  let dir: string;
  let server: RunningServer;
  let ca: string;
  let env: { configDir: string };
  const fleet: SimulatedDevice[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-cli-deployments-'));
    const configFile = join(dir, 'server.json');
    // The rollout engine looks often, so phases advance within the test's patience.
    await writeFile(configFile, JSON.stringify({ deployments: { engineIntervalMs: 100 } }));
    const config = await loadServerConfig({ configFile, dataDir: join(dir, 'data'), listen: '127.0.0.1:0' }, {});
    server = await startServer(config, { logger: createLogger('silent'), adminPassword: ADMIN_PASSWORD });
    ca = await readFile(server.caFile as string, 'utf8');
    env = { configDir: join(dir, 'config') };
    assertOk(
      await slipway(['login', '--server', url(), '--username', 'admin', '--password-stdin', '--ca', server.caFile as string], {
        env,
        stdin: `${ADMIN_PASSWORD}\n`,
      }),
    );
    const key = async (name: string) => {
      assertOk(await slipway(['key', 'generate', '--type', 'ed25519', '--out', join(dir, name)]));
      return join(dir, name);
    };
    const [root, release] = [await key('root'), await key('release')];
    const rootFile = join(dir, 'root.json');
    assertOk(await slipway(['trust', 'init', '--root-key', `${root}.pub`, '--release-key', `${release}.pub`, '--out', rootFile]));
    assertOk(await slipway(['trust', 'sign', rootFile, '--key', `${root}.key`]));
    assertOk(await slipway(['trust', 'upload', rootFile], { env }));
    await writeFile(join(dir, 'rootfs.img'), Buffer.alloc(64 * 1024, 7));
    for (const version of ['2.0', '2.1']) {
      const file = join(dir, `os-${version}.slw`);
      assertOk(
        await slipway([
          'artifact',
          'create',
          '--name',
          'gateway-os',
          '--version',
          version,
          '--device-type',
          'gw-cli',
          '--payload',
          join(dir, 'rootfs.img'),
          '--out',
          file,
        ]),
      );
      assertOk(await slipway(['artifact', 'sign', file, '--key', `${release}.key`]));
      assertOk(await slipway(['artifacts', 'upload', file], { env }));
    }
    // Four devices, preauthorized so they are accepted at first contact.
    for (let i = 1; i <= 4; i++) fleet.push(new SimulatedDevice({ server: url(), ca, identity: { serial: `GW-DEP-${i}` } }));
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ devices: fleet.map((d) => ({ identity: d.identity, publicKey: d.publicKeyPem })) }));
    assertOk(await slipway(['devices', 'preauthorize', manifest], { env }));
    for (const device of fleet) assert.equal((await device.reportInventory({ device_type: 'gw-cli' })).status, 204);
    assertOk(await slipway(['groups', 'create', 'field'], { env }));
    const ids = parseJson<{ devices: { id: string }[] }>(await slipway(['devices', 'list', '--json'], { env })).devices.map((d) => d.id);
    assertOk(await slipway(['groups', 'add', 'field', ...ids], { env }));
  });
  after(async () => {
    for (const device of fleet) device.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = () => server.url.replace('127.0.0.1', 'localhost');
  /** Devices poll and install whatever they are offered until told there is nothing, as agents would. */
  const devicesWork = async (outcome: (device: SimulatedDevice) => 'success' | 'failure', stop: () => boolean) => {
    while (!stop()) {
      for (const device of fleet) await device.runDeployment(outcome(device));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  test('create --wait follows a three-phase rollout to success and exits 0', async () => {
    let done = false;
    const working = devicesWork(
      () => 'success',
      () => done,
    );
    const result = await slipway(
      [
        'deployments',
        'create',
        '--artifact',
        'gateway-os@2.0',
        '--group',
        'field',
        '--phases',
        '25%,50%,100%',
        '--success-threshold',
        '100%',
        '--wait',
        '--poll',
        '1',
        '--json',
      ],
      { env },
    );
    done = true;
    await working;
    assert.equal(result.code, WAIT_EXIT.succeeded, result.stderr);
    const d = parseJson<{ id: string; status: string; devices: { succeeded: number }; phases: { size: number }[] }>(result);
    assert.equal(d.status, 'succeeded');
    assert.equal(d.devices.succeeded, 4);
    assert.deepEqual(
      d.phases.map((p) => p.size),
      [1, 1, 2],
    );
    assert.match(result.stderr, /succeeded: 4 succeeded, 0 failed/);

    const listed = await slipway(['deployments', 'list'], { env });
    assertOk(listed);
    assert.match(listed.stdout, new RegExp(`${d.id.slice(0, 8)} +gateway-os@2\\.0 +group:field +succeeded`));
    const shown = await slipway(['deployments', 'show', d.id.slice(0, 8)], { env });
    assertOk(shown);
    assert.match(shown.stdout, /phase 3 100% +\[#{20}\] +2\/2 ok/);
    const rates = await slipway(['reports', 'deployments'], { env });
    assert.match(rates.stdout, /4\/4 ok, 0 failed, success rate 100%/);
  });

  test('a failing canary halts the rollout: --wait exits 3, and abort ends it', async () => {
    let done = false;
    const working = devicesWork(
      () => 'failure',
      () => done,
    );
    const result = await slipway(
      [
        'deployments',
        'create',
        '--artifact',
        'gateway-os@2.1',
        '--group',
        'field',
        '--phases',
        '25%,100%',
        '--max-failures',
        '1',
        '--wait',
        '--poll',
        '1',
      ],
      { env },
    );
    done = true;
    await working;
    assert.equal(result.code, WAIT_EXIT.halted, result.stderr);
    assert.match(result.stdout, /halted: phase 1 reached 1 failed device/);
    const id = parseJson<{ id: string }[]>(await slipway(['deployments', 'list', '--status', 'halted', '--json'], { env }))[0]
      ?.id as string;
    assertFails(await slipway(['artifacts', 'delete', (await artifactId('2.1')) as string], { env }), 'SLW_ARTIFACT_IN_USE');
    const failed = parseJson<{ devices: { deviceId: string }[] }>(
      await slipway(['deployments', 'devices', id, '--status', 'failure', '--json'], { env }),
    );
    assert.equal(failed.devices.length, 1);
    assertFails(await slipway(['deployments', 'pause', id], { env }), 'SLW_DEPLOYMENT_STATE');
    const aborted = await slipway(['deployments', 'abort', id], { env });
    assertOk(aborted);
    assert.match(aborted.stdout, /aborted/);
    const waited = await slipway(['deployments', 'wait', id, '--poll', '1'], { env });
    assert.equal(waited.code, WAIT_EXIT.aborted);
  });

  test('bad options fail with one coded line', async () => {
    assertFails(await slipway(['deployments', 'create', '--artifact', 'gateway-os@2.0'], { env }), 'SLW_USAGE_MISSING_OPTION');
    assertFails(
      await slipway(['deployments', 'create', '--artifact', 'gateway-os@2.0', '--group', 'field', '--phases', '5%,50%'], { env }),
      'SLW_DEPLOYMENT_INVALID',
    );
    assertFails(
      await slipway(
        ['deployments', 'create', '--artifact', 'gateway-os@2.0', '--group', 'field', '--window', '0 2 * * */4h/Nowhere/Land'],
        { env },
      ),
      'SLW_DEPLOYMENT_INVALID',
    );
    assertFails(await slipway(['deployments', 'show', 'ffffffff'], { env }), 'SLW_DEPLOYMENT_NOT_FOUND');
    assertFails(await slipway(['deployments', 'create', '--artifact', 'nope@1', '--group', 'field'], { env }), 'SLW_ARTIFACT_NOT_FOUND');
  });

  test('reports versions and silent devices', async () => {
    const versions = await slipway(['reports', 'versions'], { env });
    assertOk(versions);
    assert.match(versions.stdout, /gw-cli: 4 device\(s\)/);
    const silent = await slipway(['reports', 'silent', '--hours', '1', '--json'], { env });
    assertOk(silent);
    assert.equal(parseJson<{ total: number }>(silent).total, 0);
  });

  const artifactId = async (version: string) =>
    parseJson<{ id: string; version: string }[]>(await slipway(['artifacts', 'list', '--json'], { env })).find((a) => a.version === version)
      ?.id;
});

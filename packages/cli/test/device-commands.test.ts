// slipway devices / groups against a real server on loopback, with devices speaking HTTPS to it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '@slipway/server';
import { simpleDevice } from './support/device-client.js';
import { assertFails, assertOk, parseJson, slipway } from './support/run.js';

const ADMIN_PASSWORD = 'admin password for device commands';

describe('device and group commands', () => {
  let dir: string;
  let server: RunningServer;
  let ca: string;
  let env: { configDir: string };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-cli-devices-'));
    const config = await loadServerConfig({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0' }, {});
    server = await startServer(config, { logger: createLogger('silent'), adminPassword: ADMIN_PASSWORD });
    ca = await readFile(server.caFile as string, 'utf8');
    env = { configDir: join(dir, 'config') };
    assertOk(
      await slipway(['login', '--server', url(), '--username', 'admin', '--password-stdin', '--ca', server.caFile as string], {
        env,
        stdin: `${ADMIN_PASSWORD}\n`,
      }),
    );
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = () => server.url.replace('127.0.0.1', 'localhost');
  const idOf = async (serial: string) =>
    parseJson<{ devices: { id: string; status: string }[] }>(
      await slipway(['devices', 'list', '--attr', `serial=${serial}`, '--json'], { env }),
    ).devices[0];

  test('a pending device is listed, accepted, shown, and decommissioned from the command line', async () => {
    const device = simpleDevice(url(), ca, 'GW-CLI-1');
    assert.equal((await device.authenticate()).body.error?.code, 'SLW_DEVICE_PENDING');
    const pending = parseJson<{ devices: { id: string }[]; total: number }>(
      await slipway(['devices', 'list', '--status', 'pending', '--json'], { env }),
    );
    assert.equal(pending.total, 1);
    const id = pending.devices[0]?.id as string;
    const accepted = await slipway(['devices', 'accept', id], { env });
    assertOk(accepted);
    assert.match(accepted.stdout, new RegExp(`${id} accepted`));
    assert.equal((await device.authenticate()).status, 200);
    const shown = await slipway(['devices', 'show', id], { env });
    assertOk(shown);
    assert.match(shown.stdout, /identity +serial=GW-CLI-1/);
    assert.match(shown.stdout, /auth +\S+ accepted from 127\.0\.0\.1/);
    assertOk(await slipway(['devices', 'decommission', id], { env }));
    assert.equal((await device.authenticate()).body.error?.code, 'SLW_DEVICE_PENDING');
    assertFails(await slipway(['devices', 'reject', '00000000-0000-4000-8000-000000000000'], { env }), 'SLW_DEVICE_NOT_FOUND');
    assertFails(await slipway(['devices', 'accept'], { env }), 'SLW_USAGE_MISSING_OPTION');
  });

  test('devices list --ids prints only ids, for $(...) in scripts', async () => {
    const device = simpleDevice(url(), ca, 'GW-CLI-IDS');
    assert.equal((await device.authenticate()).body.error?.code, 'SLW_DEVICE_PENDING');
    const listed = await slipway(['devices', 'list', '--status', 'pending', '--attr', 'serial=GW-CLI-IDS', '--ids'], { env });
    assertOk(listed);
    assert.equal(listed.stdout, `${(await idOf('GW-CLI-IDS'))?.id}\n`);
    assert.equal(listed.stderr, '', 'no page note to mix into a captured id');
  });

  test('devices accept --wait returns once the device called in with its device type; --timeout gives up with exit 6', async () => {
    const device = simpleDevice(url(), ca, 'GW-CLI-WAIT');
    assert.equal((await device.authenticate()).body.error?.code, 'SLW_DEVICE_PENDING');
    const id = (await idOf('GW-CLI-WAIT'))?.id as string;
    const silent = simpleDevice(url(), ca, 'GW-CLI-SILENT');
    await silent.authenticate();
    const silentId = (await idOf('GW-CLI-SILENT'))?.id as string;

    const waiting = slipway(['devices', 'accept', id, '--wait', '--timeout', '20'], { env });
    // The device calls in only after the acceptance: until then the command must still be waiting.
    let done = false;
    void waiting.then(() => {
      done = true;
    });
    for (let i = 0; i < 50 && (await idOf('GW-CLI-WAIT'))?.status !== 'accepted'; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(done, false, 'accept --wait returned before the device called in');
    assert.equal(await device.reportInventory({ device_type: 'gw-cli', artifact_name: 'factory' }), 204);
    const result = await waiting;
    assertOk(result);
    assert.match(result.stderr, new RegExp(`${id} called in: device type gw-cli`));

    const gaveUp = await slipway(['devices', 'accept', silentId, '--wait', '--timeout', '1'], { env });
    assert.equal(gaveUp.code, 6, gaveUp.stderr);
    assert.match(gaveUp.stderr, new RegExp(`not called in yet: ${silentId}`));
  });

  test('preauthorize imports a JSON or a CSV manifest; those devices are accepted at first contact', async () => {
    const fromJson = simpleDevice(url(), ca, 'GW-JSON-1');
    const fromCsv = simpleDevice(url(), ca, 'GW-CSV-1');
    const jsonFile = join(dir, 'manifest.json');
    await writeFile(jsonFile, JSON.stringify({ devices: [{ identity: fromJson.identity, publicKey: fromJson.publicPem }] }));
    const imported = await slipway(['devices', 'preauthorize', jsonFile, '--json'], { env });
    assertOk(imported);
    assert.deepEqual(parseJson(imported), { imported: 1, unchanged: 0 });
    await writeFile(join(dir, 'gw-csv-1.pub'), fromCsv.publicPem);
    const csvFile = join(dir, 'manifest.csv');
    await writeFile(csvFile, 'serial,public_key_file\r\nGW-CSV-1,gw-csv-1.pub\r\n');
    assertOk(await slipway(['devices', 'preauthorize', csvFile], { env }));
    for (const device of [fromJson, fromCsv]) assert.equal((await device.authenticate()).status, 200);
    assert.equal((await idOf('GW-CSV-1'))?.status, 'accepted');

    const inline = simpleDevice(url(), ca, 'GW-CSV-2');
    await writeFile(csvFile, `serial,public_key\nGW-CSV-2,"${inline.publicPem}"\n`);
    assertOk(await slipway(['devices', 'preauthorize', csvFile], { env }));
    assert.equal((await inline.authenticate()).status, 200);

    await writeFile(csvFile, 'serial,public_key\nGW-BAD,"not a key"\n');
    assertFails(await slipway(['devices', 'preauthorize', csvFile], { env }), 'SLW_DEVICE_MANIFEST_INVALID');
    await writeFile(csvFile, 'serial\nGW-BAD\n');
    assertFails(await slipway(['devices', 'preauthorize', csvFile], { env }), 'SLW_DEVICE_MANIFEST_INVALID');
  });

  test('trust upload stores the first root and each rotation; trust list shows them', async () => {
    const key = async (name: string) => {
      const prefix = join(dir, name);
      assertOk(await slipway(['key', 'generate', '--type', 'ed25519', '--out', prefix]));
      return { key: `${prefix}.key`, pub: `${prefix}.pub` };
    };
    const [rootA, rootB, release] = [await key('root-a'), await key('root-b'), await key('release')];
    const root1 = join(dir, 'root-1.json');
    assertOk(await slipway(['trust', 'init', '--root-key', rootA.pub, '--release-key', release.pub, '--out', root1]));
    assertFails(await slipway(['trust', 'upload', root1], { env }), 'SLW_TRUST_ROOT_THRESHOLD');
    assertOk(await slipway(['trust', 'sign', root1, '--key', rootA.key]));
    const uploaded = await slipway(['trust', 'upload', root1, '--json'], { env });
    assertOk(uploaded);
    assert.equal(parseJson<{ version: number }>(uploaded).version, 1);
    const root2 = join(dir, 'root-2.json');
    assertOk(await slipway(['trust', 'init', '--version', '2', '--root-key', rootB.pub, '--release-key', release.pub, '--out', root2]));
    assertOk(await slipway(['trust', 'sign', root2, '--key', rootB.key]));
    assertFails(await slipway(['trust', 'upload', root2], { env }), 'SLW_TRUST_ROOT_OLD_THRESHOLD');
    assertOk(await slipway(['trust', 'sign', root2, '--key', rootA.key]));
    assertOk(await slipway(['trust', 'upload', root2], { env }));
    const listed = parseJson<{ version: number }[]>(await slipway(['trust', 'list', '--json'], { env }));
    assert.deepEqual(
      listed.map((r) => r.version),
      [1, 2],
    );
    assertFails(await slipway(['trust', 'upload', join(dir, 'nope.json')], { env }), 'SLW_IO_NOT_FOUND');
  });

  test('artifacts upload streams a signed artifact the server verifies; list, show and delete it', async () => {
    const payload = join(dir, 'rootfs.img');
    await writeFile(payload, Buffer.alloc(3 * 1024 * 1024, 1));
    const slw = join(dir, 'base-1.slw');
    assertOk(
      await slipway([
        'artifact',
        'create',
        '--name',
        'base',
        '--version',
        '1.0',
        '--device-type',
        'gw-a',
        '--payload',
        payload,
        '--key',
        join(dir, 'release.key'),
        '--out',
        slw,
      ]),
    );
    const uploaded = await slipway(['artifacts', 'upload', slw, '--json'], { env });
    assertOk(uploaded);
    const artifact = parseJson<{ id: string; signed: boolean; name: string }>(uploaded);
    assert.equal(artifact.signed, true);
    assertFails(await slipway(['artifacts', 'upload', slw], { env }), 'SLW_ARTIFACT_DUPLICATE');
    const listed = await slipway(['artifacts', 'list'], { env });
    assert.match(listed.stdout, new RegExp(`${artifact.id} +base 1.0 +gw-a +signed`));
    const shown = await slipway(['artifacts', 'show', artifact.id], { env });
    assert.match(shown.stdout, /signature signed by 1 release key\(s\) under root v2/);
    const unsigned = join(dir, 'base-2.slw');
    assertOk(
      await slipway([
        'artifact',
        'create',
        '--name',
        'base',
        '--version',
        '2.0',
        '--device-type',
        'gw-a',
        '--payload',
        payload,
        '--out',
        unsigned,
      ]),
    );
    assertFails(await slipway(['artifacts', 'upload', unsigned], { env }), 'SLW_ARTIFACT_SIGNATURE_INVALID');
    assertOk(await slipway(['artifacts', 'delete', artifact.id], { env }));
    assertFails(await slipway(['artifacts', 'show', artifact.id], { env }), 'SLW_ARTIFACT_NOT_FOUND');
    assertFails(await slipway(['artifacts', 'upload', join(dir, 'missing.slw')], { env }), 'SLW_IO_NOT_FOUND');
  });

  test('webhooks create prints the secret once; a security event is delivered and listed', async () => {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/soc`;
      const created = await slipway(['webhooks', 'create', 'soc', '--url', url, '--event', 'security.*'], { env });
      assertOk(created);
      assert.match(created.stdout.trim(), /^[A-Za-z0-9_-]{43}$/);
      assertFails(await slipway(['webhooks', 'create', 'soc2', '--url', url], { env }), 'SLW_USAGE_MISSING_OPTION');
      // A security event: a token revoked.
      const token = parseJson<{ id: string }>(
        await slipway(['tokens', 'create', '--name', 'short', '--role', 'viewer', '--json'], { env }),
      );
      assertOk(await slipway(['tokens', 'revoke', token.id], { env }));
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(JSON.parse(received[0] ?? '{}').type, 'security.token.revoke');
      const deliveries = await slipway(['webhooks', 'deliveries', 'soc'], { env });
      assert.match(deliveries.stdout, /security\.token\.revoke +delivered +1 attempt\(s\) HTTP 204/);
      assert.match((await slipway(['webhooks', 'list'], { env })).stdout, /^soc +http:\/\/127\.0\.0\.1/m);
      assertOk(await slipway(['webhooks', 'delete', 'soc'], { env }));
      assertFails(await slipway(['webhooks', 'deliveries', 'soc'], { env }), 'SLW_WEBHOOK_NOT_FOUND');
    } finally {
      hook.close();
    }
  });

  test('groups: a static group by hand, a dynamic one by filter', async () => {
    const a = (await idOf('GW-JSON-1'))?.id as string;
    const b = (await idOf('GW-CSV-1'))?.id as string;
    assertOk(await slipway(['groups', 'create', 'qa'], { env }));
    const added = await slipway(['groups', 'add', 'qa', a, b, '--json'], { env });
    assertOk(added);
    assert.deepEqual(parseJson(added), { changed: 2 });
    assertOk(await slipway(['groups', 'remove', 'qa', b], { env }));
    assertOk(await slipway(['groups', 'create', 'accepted-all', '--filter', 'status=accepted'], { env }));
    const groups = parseJson<{ name: string; kind: string; members: number }[]>(await slipway(['groups', 'list', '--json'], { env }));
    // The other tests of this file accept devices too: the dynamic group holds exactly the accepted ones.
    const accepted = parseJson<{ total: number }>(await slipway(['devices', 'list', '--status', 'accepted', '--json'], { env })).total;
    assert.ok(accepted >= 3);
    assert.deepEqual(
      groups.map((g) => `${g.name} ${g.kind} ${g.members}`),
      [`accepted-all dynamic ${accepted}`, 'qa static 1'],
    );
    assertFails(await slipway(['groups', 'add', 'accepted-all', a], { env }), 'SLW_GROUP_DYNAMIC');
    assertFails(await slipway(['groups', 'create', 'x', '--filter', 'nonsense'], { env }), 'SLW_USAGE_INVALID_OPTION');
  });
});

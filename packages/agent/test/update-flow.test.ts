import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createArtifact, FileChunkSource, type Signer } from '@slipway/core';
import { FileBootloader } from '../src/bootloader/file.js';
import { RootfsInstaller } from '../src/installers/rootfs-installer.js';
import { StateStore, type UpdateJob } from '../src/state/state-store.js';
import { UpdateMachine } from '../src/state/update-machine.js';
import { DeviceTrust } from '../src/trust/device-trust.js';
import { type UpdateOutcome, updateEffects } from '../src/update/update-effects.js';
import { signedRoot, signer } from './support/trust.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('a whole update through the state machine, rootfs A/B with a simulated boot', () => {
  let dir: string;
  let n = 0;
  const [rootKey, release, stranger] = [signer(), signer(), signer()];
  let golden: string;
  const image = randomBytes(1024 * 1024 + 5);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-flow-'));
    golden = join(dir, 'root.json');
    await writeFile(golden, await signedRoot(1, [rootKey], [release], [rootKey]));
    await writeFile(join(dir, 'rootfs.img'), image);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const artifact = async (version: string, by: Signer = release) => {
    const file = join(dir, `os-${version}-${++n}.slw`);
    await createArtifact(file, {
      name: 'gateway-os',
      version,
      securityVersion: 1,
      deviceTypes: ['gw'],
      payloadType: 'rootfs',
      payloads: [{ path: join(dir, 'rootfs.img'), name: 'rootfs.img' }],
      compression: 'none',
      now: new Date(),
      signers: [by],
    });
    return file;
  };

  /**
   * A device: slots, a file bootloader, and a boot that applies the bootloader's decision as the
   * U-Boot and GRUB scripts do (count a trial boot; past the limit, go back to the other slot).
   */
  const device = async (options: { healthy?: boolean; trialNeverComesUp?: boolean } = {}) => {
    const d = join(dir, `device-${++n}`);
    await mkdir(join(d, 'state'), { recursive: true });
    const slots = { a: join(d, 'a.img'), b: join(d, 'b.img') };
    const running = randomBytes(4096);
    await writeFile(slots.a, running);
    const bootloader = new FileBootloader({ envFile: join(d, 'env.json') });
    let boot = 1;
    const reports: UpdateOutcome[] = [];
    const simulatedBoot = async () => {
      boot++;
      for (;;) {
        const env = await bootloader.read();
        if (!env.upgradeAvailable) return;
        // What the boot script does on a trial boot: count it in the environment.
        const all = Object.fromEntries(await bootloader.loadAll());
        const count = env.bootcount + 1;
        await writeFile(bootloader.envFile, JSON.stringify({ ...all, bootcount: String(count) }));
        if (count > env.bootlimit) {
          await bootloader.revert(env.active === 'a' ? 'b' : 'a');
          return;
        }
        // A trial slot that never comes up means another boot attempt straight away.
        if (!options.trialNeverComesUp) return;
      }
    };
    const trust = new DeviceTrust(join(d, 'state'), golden);
    const installer = new RootfsInstaller(slots, bootloader);
    const store = new StateStore(join(d, 'state', 'update.json'));
    const machine = new UpdateMachine(
      store,
      updateEffects({
        trust,
        deviceType: 'gw',
        now: () => new Date(),
        installerFor: () => installer,
        openSource: async (record) => FileChunkSource.open(record.job?.source as string),
        bootId: async () => `boot-${boot}`,
        reboot: simulatedBoot,
        healthCheck: async () =>
          options.healthy === false ? { healthy: false, why: 'sanity hook app-started exited 1' } : { healthy: true },
        report: async (_record, outcome) => void reports.push(outcome),
      }),
      { backoff: async () => {} },
    );
    const job = (source: string, version = '2.0'): UpdateJob => ({
      deploymentId: null,
      attempt: 1,
      source,
      artifact: { name: 'gateway-os', version, sha256: null, securityVersion: null, payloadType: 'rootfs' },
    });
    return { slots, running, bootloader, trust, machine, store, reports, job };
  };

  test('a good update is stored in slot b, booted on trial, found healthy, committed and reported', async () => {
    const dev = await device();
    await dev.machine.begin(dev.job(await artifact('2.0')));
    await dev.machine.run();
    assert.deepEqual(dev.reports, ['success']);
    assert.equal(sha(await readFile(dev.slots.b)), sha(image));
    assert.deepEqual(await dev.bootloader.read(), { active: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
    assert.equal((await dev.trust.installed())?.version, '2.0');
    assert.equal((await dev.store.load()).state, 'idle');
  });

  test('a failing sanity hook rolls back to slot a and reports rolled-back', async () => {
    const dev = await device({ healthy: false });
    await dev.machine.begin(dev.job(await artifact('2.0')));
    await dev.machine.run();
    assert.deepEqual(dev.reports, ['rolled-back']);
    assert.equal((await dev.bootloader.read()).active, 'a');
    assert.equal((await dev.bootloader.read()).upgradeAvailable, false);
    assert.equal(await dev.trust.installed(), null);
  });

  test('a trial boot that never reaches the agent rolls back through the bootcount', async () => {
    const dev = await device({ trialNeverComesUp: true });
    await dev.machine.begin(dev.job(await artifact('2.0')));
    await dev.machine.run();
    assert.deepEqual(dev.reports, ['rolled-back']);
    assert.equal((await dev.bootloader.read()).active, 'a');
    assert.equal(sha(await readFile(dev.slots.a)), sha(dev.running));
  });

  test('an artifact not signed by the release keys is refused before the bootloader is touched', async () => {
    const dev = await device();
    const env = await dev.bootloader.read();
    await dev.machine.begin(dev.job(await artifact('2.0', stranger)));
    await dev.machine.run();
    assert.deepEqual(dev.reports, ['failure']);
    assert.deepEqual(await dev.bootloader.read(), env);
    assert.equal(sha(await readFile(dev.slots.a)), sha(dev.running));
  });

  test('the release already installed is reported as already-installed without writing a slot', async () => {
    const dev = await device();
    await dev.trust.recordInstalled({ name: 'gateway-os', version: '2.0', securityVersion: 1, installedAt: new Date().toISOString() });
    await dev.machine.begin(dev.job(await artifact('2.0')));
    await dev.machine.run();
    assert.deepEqual(dev.reports, ['already-installed']);
    assert.equal((await dev.bootloader.read()).upgradeAvailable, false);
  });
});

// One contract, run against every backend with the real tools on temporary files (no fakes):
// what the agent writes must be what U-Boot's fw_printenv and GRUB's grub-editenv read back.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SlipwayError } from '@slipway/core';
import type { BootState, EnvBootloader, EnvConventions } from '../src/bootloader/bootloader.js';
import { FileBootloader } from '../src/bootloader/file.js';
import { GrubBootloader } from '../src/bootloader/grub.js';
import { UBootBootloader } from '../src/bootloader/uboot.js';

const IN_CI = process.env.CI === 'true';
const installed = (tool: string) => spawnSync(tool, ['--help'], { stdio: 'ignore' }).error === undefined;
const HAS_UBOOT_TOOLS = installed('fw_printenv') && installed('fw_setenv');
const HAS_GRUB_TOOLS = installed('grub-editenv');

if (IN_CI) {
  // .ci/run installs them; a CI run without them must fail, not quietly skip the real-tool tests.
  test('fw_printenv, fw_setenv and grub-editenv are installed in CI', () => {
    assert.ok(HAS_UBOOT_TOOLS, 'install libubootenv-tool');
    assert.ok(HAS_GRUB_TOOLS, 'install grub-common');
  });
}

/** A backend on fresh files, and the real tool's own view of the same environment. */
interface Fixture {
  bootloader: EnvBootloader;
  /** Sets variables the way the bootloader (or an integrator) would, bypassing the backend. */
  setRaw(variables: Record<string, string>): void;
  /** Every variable as the tool itself lists it. */
  listRaw(): Promise<Record<string, string>>;
  /** Another backend on the same environment, as after an agent restart. */
  again(): EnvBootloader;
  /** The same environment, with its directory missing: every operation must fail. */
  broken(): EnvBootloader;
}

interface Backend {
  name: string;
  skip: string | false;
  make(dir: string, conventions?: EnvConventions): Promise<Fixture>;
}

function parseLines(output: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) variables[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return variables;
}

function unless(available: boolean, what: string): string | false {
  return available || IN_CI ? false : `${what} is not installed`;
}

const BACKENDS: Backend[] = [
  {
    name: 'uboot',
    skip: unless(HAS_UBOOT_TOOLS, 'libubootenv-tool'),
    async make(dir, conventions = {}) {
      // A redundant environment: two 16 KiB copies in one zeroed file, as on an eMMC env area.
      const image = join(dir, 'uboot-env.img');
      await writeFile(image, Buffer.alloc(0x8000));
      const configFile = join(dir, 'fw_env.config');
      await writeFile(configFile, `${image} 0x0 0x4000\n${image} 0x4000 0x4000\n`);
      const defaultEnvFile = join(dir, 'u-boot-initial-env');
      await writeFile(defaultEnvFile, 'bootcmd=run slipway_boot\nbootdelay=2\n');
      const brokenConfig = join(dir, 'broken-fw_env.config');
      await writeFile(brokenConfig, `${join(dir, 'missing', 'env.img')} 0x0 0x4000\n`);
      const tool = (name: string, args: string[]) =>
        execFileSync(name, ['-c', configFile, '-f', defaultEnvFile, ...args], { encoding: 'utf8', stdio: 'pipe' });
      return {
        bootloader: new UBootBootloader({ ...conventions, configFile, defaultEnvFile }),
        setRaw(variables) {
          for (const [name, value] of Object.entries(variables)) tool('fw_setenv', ['--', name, value]);
        },
        listRaw: async () => parseLines(tool('fw_printenv', [])),
        again: () => new UBootBootloader({ ...conventions, configFile, defaultEnvFile }),
        broken: () => new UBootBootloader({ ...conventions, configFile: brokenConfig, defaultEnvFile }),
      };
    },
  },
  {
    name: 'grub',
    skip: unless(HAS_GRUB_TOOLS, 'grub-common'),
    async make(dir, conventions = {}) {
      const envFile = join(dir, 'grubenv');
      execFileSync('grub-editenv', [envFile, 'create']);
      return {
        bootloader: new GrubBootloader({ ...conventions, envFile }),
        setRaw(variables) {
          execFileSync('grub-editenv', [envFile, 'set', ...Object.entries(variables).map(([n, v]) => `${n}=${v}`)]);
        },
        listRaw: async () => parseLines(execFileSync('grub-editenv', [envFile, 'list'], { encoding: 'utf8' })),
        again: () => new GrubBootloader({ ...conventions, envFile }),
        broken: () => new GrubBootloader({ ...conventions, envFile: join(dir, 'missing', 'grubenv') }),
      };
    },
  },
  {
    name: 'file',
    skip: false,
    async make(dir, conventions = {}) {
      const envFile = join(dir, 'bootenv.json');
      const readRaw = async (): Promise<Record<string, string>> => {
        try {
          return JSON.parse(await readFile(envFile, 'utf8'));
        } catch {
          return {};
        }
      };
      return {
        bootloader: new FileBootloader({ ...conventions, envFile }),
        setRaw(variables) {
          const current = existsSync(envFile) ? JSON.parse(readFileSync(envFile, 'utf8')) : {};
          writeFileSync(envFile, JSON.stringify({ ...current, ...variables }));
        },
        listRaw: readRaw,
        again: () => new FileBootloader({ ...conventions, envFile }),
        broken: () => new FileBootloader({ ...conventions, envFile: join(dir, 'missing', 'bootenv.json') }),
      };
    },
  },
];

const DEFAULTS: BootState = { active: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 3 };

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<SlipwayError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}, but it succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SlipwayError, `expected a SlipwayError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

for (const backend of BACKENDS) {
  describe(`the ${backend.name} bootloader backend`, { skip: backend.skip }, () => {
    let root: string;
    let n = 0;
    const fresh = async (conventions?: EnvConventions) => {
      const dir = join(root, String(++n));
      await mkdir(dir);
      return backend.make(dir, conventions);
    };
    before(async () => {
      root = await mkdtemp(join(tmpdir(), `slipway-boot-${backend.name}-`));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    test('reads an environment without Slipway variables as slot a, no upgrade, bootcount 0, bootlimit 3', async () => {
      const { bootloader } = await fresh();
      assert.equal(bootloader.name, backend.name);
      assert.deepEqual(await bootloader.read(), DEFAULTS);
    });

    test('a trial of slot b reads back as active b, upgrade available, bootcount 0', async () => {
      const { bootloader } = await fresh();
      await bootloader.trial('b');
      assert.deepEqual(await bootloader.read(), { active: 'b', upgradeAvailable: true, bootcount: 0, bootlimit: 3 });
    });

    test('the values survive re-reading by the tool itself, next to the variables the agent does not own', async () => {
      const fixture = await fresh();
      fixture.setRaw({ bootdelay: '5' });
      await fixture.bootloader.trial('b');
      const raw = await fixture.listRaw();
      assert.equal(raw.slipway_slot, 'b');
      assert.equal(raw.upgrade_available, '1');
      assert.equal(raw.bootcount, '0');
      assert.equal(raw.bootlimit, '3');
      assert.equal(raw.bootdelay, '5');
      if (backend.name === 'uboot') assert.equal(raw.bootcmd, 'run slipway_boot', 'the default environment is kept');
    });

    test('a bootcount the bootloader raised during the trial is read as such', async () => {
      const fixture = await fresh();
      await fixture.bootloader.trial('b');
      fixture.setRaw({ bootcount: '2' });
      assert.deepEqual(await fixture.bootloader.read(), { active: 'b', upgradeAvailable: true, bootcount: 2, bootlimit: 3 });
    });

    test('commit keeps the trial slot and clears upgrade_available and bootcount', async () => {
      const fixture = await fresh();
      await fixture.bootloader.trial('b');
      fixture.setRaw({ bootcount: '1' });
      await fixture.bootloader.commit();
      assert.deepEqual(await fixture.bootloader.read(), { active: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
      const raw = await fixture.listRaw();
      assert.equal(raw.upgrade_available, '0');
      assert.equal(raw.bootcount, '0');
    });

    test('revert goes back to the given slot for good', async () => {
      const fixture = await fresh();
      await fixture.bootloader.trial('b');
      fixture.setRaw({ bootcount: '2' });
      await fixture.bootloader.revert('a');
      assert.deepEqual(await fixture.bootloader.read(), DEFAULTS);
      assert.equal((await fixture.listRaw()).slipway_slot, 'a');
    });

    test('a second backend on the same environment reads what the first wrote', async () => {
      const fixture = await fresh();
      await fixture.bootloader.trial('b');
      await fixture.bootloader.commit();
      await fixture.bootloader.trial('a');
      assert.deepEqual(await fixture.again().read(), { active: 'a', upgradeAvailable: true, bootcount: 0, bootlimit: 3 });
    });

    test('the first trial writes the configured bootlimit so the fallback is armed', async () => {
      const fixture = await fresh({ bootlimit: 5 });
      assert.equal((await fixture.bootloader.read()).bootlimit, 5);
      await fixture.bootloader.trial('b');
      assert.equal((await fixture.listRaw()).bootlimit, '5');
    });

    test("a trial keeps the integrator's bootlimit", async () => {
      const fixture = await fresh();
      fixture.setRaw({ bootlimit: '7' });
      await fixture.bootloader.trial('b');
      assert.equal((await fixture.bootloader.read()).bootlimit, 7);
      assert.equal((await fixture.listRaw()).bootlimit, '7');
    });

    test('a configured slot variable is the one written and read', async () => {
      const fixture = await fresh({ slotVariable: 'rootfs_slot' });
      await fixture.bootloader.trial('b');
      const raw = await fixture.listRaw();
      assert.equal(raw.rootfs_slot, 'b');
      assert.equal(raw.slipway_slot, undefined);
      assert.equal((await fixture.bootloader.read()).active, 'b');
    });

    test('a slot other than a or b is SLW_BOOT_ENV_INVALID, and no trial starts from it', async () => {
      const fixture = await fresh();
      fixture.setRaw({ slipway_slot: 'c' });
      const err = await rejectsWith(fixture.bootloader.read(), 'SLW_BOOT_ENV_INVALID');
      assert.match(err.message, /slipway_slot="c"/);
      await rejectsWith(fixture.bootloader.trial('b'), 'SLW_BOOT_ENV_INVALID');
      assert.equal((await fixture.listRaw()).upgrade_available, undefined);
    });

    test('an upgrade_available other than 0 or 1, or a bootcount that is not a number, is SLW_BOOT_ENV_INVALID', async () => {
      const fixture = await fresh();
      fixture.setRaw({ upgrade_available: 'yes' });
      await rejectsWith(fixture.bootloader.read(), 'SLW_BOOT_ENV_INVALID');
      fixture.setRaw({ upgrade_available: '1', bootcount: '-1' });
      await rejectsWith(fixture.bootloader.read(), 'SLW_BOOT_ENV_INVALID');
    });

    test('a revert repairs an environment with an impossible slot', async () => {
      const fixture = await fresh();
      fixture.setRaw({ slipway_slot: 'c', upgrade_available: '1' });
      await fixture.bootloader.revert('b');
      assert.deepEqual(await fixture.bootloader.read(), { active: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
    });

    test('operations issued together run one after the other', async () => {
      const fixture = await fresh();
      await Promise.all([fixture.bootloader.trial('b'), fixture.bootloader.commit(), fixture.bootloader.read()]);
      assert.deepEqual(await fixture.bootloader.read(), { active: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
    });

    test('an environment in a missing directory is SLW_BOOT_ENV_FAILED with a one-line message', async () => {
      const broken = (await fresh()).broken();
      for (const operation of [() => broken.read(), () => broken.trial('b'), () => broken.commit(), () => broken.revert('a')]) {
        const err = await rejectsWith(operation(), 'SLW_BOOT_ENV_FAILED');
        assert.doesNotMatch(err.message, /\n/);
        assert.equal(err.retryable, true);
        if (backend.name !== 'file') assert.ok(err.message.startsWith(backend.name === 'uboot' ? 'fw_' : 'grub-editenv'), err.message);
      }
    });
  });
}

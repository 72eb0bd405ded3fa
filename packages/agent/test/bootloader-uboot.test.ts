// U-Boot specifics, with the real fw_printenv/fw_setenv on environment image files.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SlipwayError } from '@slipway/core';
import { UBootBootloader, type UBootOptions } from '../src/bootloader/uboot.js';

const IN_CI = process.env.CI === 'true';
const installed = (tool: string) => spawnSync(tool, ['--help'], { stdio: 'ignore' }).error === undefined;
const AVAILABLE = installed('fw_printenv') && installed('fw_setenv');
const COPY_BYTES = 0x4000;

async function failure(promise: Promise<unknown>, code: string): Promise<SlipwayError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SlipwayError, String(err));
  assert.equal(err.code, code, err.message);
  assert.doesNotMatch(err.message, /\n/);
  return err;
}

// In CI a missing tool fails these tests (.ci/run installs libubootenv-tool); elsewhere it skips them.
describe('the U-Boot environment through fw_printenv/fw_setenv', {
  skip: AVAILABLE || IN_CI ? false : 'libubootenv-tool is not installed',
}, () => {
  let root: string;
  let n = 0;
  /** A fresh environment image of `copies` 16 KiB copies, a config naming them, and a default env. */
  const fresh = async (copies: 1 | 2 = 2) => {
    const dir = join(root, String(++n));
    await mkdir(dir);
    const image = join(dir, 'env.img');
    await writeFile(image, Buffer.alloc(copies * COPY_BYTES));
    const configFile = join(dir, 'fw_env.config');
    const lines = copies === 2 ? [`${image} 0x0 0x4000`, `${image} 0x4000 0x4000`] : [`${image} 0x0 0x4000`];
    await writeFile(configFile, `${lines.join('\n')}\n`);
    const defaultEnvFile = join(dir, 'u-boot-initial-env');
    await writeFile(defaultEnvFile, 'bootcmd=run slipway_boot\n');
    const options: UBootOptions = { configFile, defaultEnvFile };
    return { dir, image, configFile, options, bootloader: new UBootBootloader(options) };
  };
  /** An executable shell script standing in for a tool. */
  const fakeTool = async (dir: string, name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-uboot-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a write torn by a power cut leaves the previous environment of a redundant pair readable', async () => {
    const { image, bootloader } = await fresh(2);
    await bootloader.trial('b');
    await bootloader.commit();
    const before = await readFile(image);
    await bootloader.trial('a');
    const afterWrite = await readFile(image);
    // fw_setenv writes only the copy that was not current; tear that one (its CRC no longer matches).
    const written = [0, COPY_BYTES].filter(
      (offset) => !before.subarray(offset, offset + COPY_BYTES).equals(afterWrite.subarray(offset, offset + COPY_BYTES)),
    );
    assert.equal(written.length, 1, 'one copy changed');
    const torn = Buffer.from(afterWrite);
    torn.fill(0xff, (written[0] ?? 0) + 8, (written[0] ?? 0) + 64);
    await writeFile(image, torn);
    assert.deepEqual(await bootloader.read(), { active: 'b', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
  });

  test('a single-copy environment is read and written the same way', async () => {
    const { bootloader, configFile } = await fresh(1);
    await bootloader.trial('b');
    const listed = execFileSync('fw_printenv', ['-c', configFile, 'slipway_slot', 'upgrade_available', 'bootcount', 'bootlimit'], {
      encoding: 'utf8',
    });
    assert.equal(listed, 'slipway_slot=b\nupgrade_available=1\nbootcount=0\nbootlimit=3\n');
  });

  test('a blank environment without a default environment is SLW_BOOT_ENV_FAILED with the reason', async () => {
    const { options, dir } = await fresh();
    const bootloader = new UBootBootloader({ ...options, defaultEnvFile: join(dir, 'no-default-env') });
    const err = await failure(bootloader.read(), 'SLW_BOOT_ENV_FAILED');
    assert.match(
      err.message,
      /^fw_printenv failed \(exit \d+\): Cannot read environment, using default; Cannot read default environment from file$/,
    );
    await failure(bootloader.trial('b'), 'SLW_BOOT_ENV_FAILED');
  });

  test('a config pointing at a missing directory is SLW_BOOT_ENV_FAILED naming the tool and its message', async () => {
    const { dir } = await fresh();
    const configFile = join(dir, 'bad.config');
    await writeFile(configFile, `${join(dir, 'missing', 'env.img')} 0x0 0x4000\n`);
    const err = await failure(new UBootBootloader({ configFile }).read(), 'SLW_BOOT_ENV_FAILED');
    assert.match(err.message, /^fw_printenv failed \(exit \d+\): Configuration file wrong or corrupted$/);
    assert.equal(err.retryable, true);
  });

  test('a missing fw_printenv is SLW_BOOT_ENV_FAILED that names the package to install', async () => {
    const { dir, options } = await fresh();
    const err = await failure(new UBootBootloader({ ...options, fwPrintenv: join(dir, 'fw_printenv') }).read(), 'SLW_BOOT_ENV_FAILED');
    assert.match(err.message, /cannot be run \(ENOENT\): install libubootenv-tool/);
  });

  test('a tool that hangs is killed at the timeout', async () => {
    const { dir, options } = await fresh();
    const fwPrintenv = await fakeTool(dir, 'fw_printenv', 'exec sleep 30');
    const started = Date.now();
    const err = await failure(new UBootBootloader({ ...options, fwPrintenv, timeoutMs: 300 }).read(), 'SLW_BOOT_ENV_FAILED');
    assert.match(err.message, /did not finish within 300 ms/);
    assert.ok(Date.now() - started < 5000);
  });

  test('an fw_setenv that exits 0 without storing anything is caught by reading back', async () => {
    const { dir, options, configFile } = await fresh();
    const fwSetenv = await fakeTool(dir, 'fw_setenv', 'exit 0');
    const err = await failure(new UBootBootloader({ ...options, fwSetenv }).trial('b'), 'SLW_BOOT_ENV_FAILED');
    assert.match(err.message, /fw_setenv exited 0 but slipway_slot reads back as ""/);
    assert.doesNotThrow(() => execFileSync('fw_printenv', ['-c', configFile, '-f', options.defaultEnvFile ?? '']));
  });

  test('the whole change reaches fw_setenv as one script', async () => {
    const { dir, options } = await fresh();
    const log = join(dir, 'calls.log');
    // Records each call and the script it was given, then runs the real tool.
    const fwSetenv = await fakeTool(
      dir,
      'fw_setenv',
      `echo "$@" >> '${log}'; for a; do [ -f "$a" ] && cat "$a" >> '${log}'; done; exec fw_setenv "$@"`,
    );
    const bootloader = new UBootBootloader({ ...options, fwSetenv });
    await bootloader.trial('b');
    await bootloader.commit();
    await bootloader.revert('a');
    const calls = (await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith('-c '));
    assert.equal(calls.length, 3, 'one fw_setenv per operation');
    assert.match(await readFile(log, 'utf8'), /slipway_slot=b\nupgrade_available=1\nbootcount=0\nbootlimit=3\n/);
  });
});

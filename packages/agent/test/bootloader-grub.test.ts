// GRUB specifics, with the real grub-editenv on environment block files.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SlipwayError } from '@slipway/core';
import { GrubBootloader } from '../src/bootloader/grub.js';

const IN_CI = process.env.CI === 'true';
const AVAILABLE = spawnSync('grub-editenv', ['--help'], { stdio: 'ignore' }).error === undefined;

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

const list = (envFile: string) => execFileSync('grub-editenv', [envFile, 'list'], { encoding: 'utf8' });

// In CI a missing tool fails these tests (.ci/run installs grub-common); elsewhere it skips them.
describe('the GRUB environment block through grub-editenv', { skip: AVAILABLE || IN_CI ? false : 'grub-common is not installed' }, () => {
  let root: string;
  let n = 0;
  const freshDir = async () => {
    const dir = join(root, String(++n));
    await mkdir(dir);
    return dir;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-grub-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a grub-editenv killed in the middle of a write leaves the previous block in place', async () => {
    const dir = await freshDir();
    const envFile = join(dir, 'grubenv');
    const bootloader = new GrubBootloader({ envFile });
    await bootloader.trial('b');
    await bootloader.commit();
    const before = list(envFile);
    // The real tool truncates the file it sets before writing it: do that much, then die.
    const grubEditenv = join(dir, 'grub-editenv');
    await writeFile(grubEditenv, '#!/bin/sh\nif [ "$2" = set ]; then : > "$1"; kill -9 $$; fi\nexec grub-editenv "$@"\n');
    await chmod(grubEditenv, 0o755);
    const err = await failure(new GrubBootloader({ envFile, grubEditenv }).trial('a'), 'SLW_BOOT_ENV_FAILED');
    assert.match(err.message, /grub-editenv failed \(signal SIGKILL\)/);
    assert.equal(list(envFile), before);
    assert.deepEqual(await readdir(dir), ['grub-editenv', 'grubenv'], 'no temporary copy is left behind');
  });

  test('a missing block is created with the defaults, as a 1 KiB block GRUB can save_env into', async () => {
    const dir = await freshDir();
    const envFile = join(dir, 'grubenv');
    const bootloader = new GrubBootloader({ envFile });
    assert.deepEqual(await bootloader.read(), { active: 'a', upgradeAvailable: false, bootcount: 0, bootlimit: 3 });
    await bootloader.trial('b');
    assert.equal((await stat(envFile)).size, 1024);
    assert.equal(list(envFile), 'slipway_slot=b\nupgrade_available=1\nbootcount=0\nbootlimit=3\n');
  });

  test('a write keeps the mode of the block and the variables of the boot script', async () => {
    const dir = await freshDir();
    const envFile = join(dir, 'grubenv');
    execFileSync('grub-editenv', [envFile, 'set', 'saved_entry=gateway', 'next_entry=']);
    await chmod(envFile, 0o640);
    const bootloader = new GrubBootloader({ envFile });
    await bootloader.trial('b');
    await bootloader.revert('a');
    assert.equal((await stat(envFile)).mode & 0o777, 0o640);
    assert.match(list(envFile), /^saved_entry=gateway\nnext_entry=\nslipway_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=3\n$/);
  });

  test('an unreadable block is SLW_BOOT_ENV_FAILED, and no write replaces it with a fresh one', async () => {
    const dir = await freshDir();
    const envFile = join(dir, 'grubenv');
    await writeFile(envFile, 'not a grub environment block');
    const bootloader = new GrubBootloader({ envFile });
    const err = await failure(bootloader.read(), 'SLW_BOOT_ENV_FAILED');
    assert.equal(err.message, 'grub-editenv failed (exit 1): grub-editenv: error: invalid environment block.');
    await failure(bootloader.trial('b'), 'SLW_BOOT_ENV_FAILED');
    await failure(bootloader.revert('a'), 'SLW_BOOT_ENV_FAILED');
    assert.deepEqual(await readdir(dir), ['grubenv']);
  });

  test('a missing grub-editenv is SLW_BOOT_ENV_FAILED that names the package to install', async () => {
    const dir = await freshDir();
    const err = await failure(
      new GrubBootloader({ envFile: join(dir, 'grubenv'), grubEditenv: join(dir, 'grub-editenv') }).read(),
      'SLW_BOOT_ENV_FAILED',
    );
    assert.match(err.message, /cannot be run \(ENOENT\): install grub-common/);
  });
});

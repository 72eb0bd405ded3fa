import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SlipwayError } from '@slipway/core';
import { type BootloaderConfig, createBootloader } from '../src/bootloader/create-bootloader.js';
import { FileBootloader } from '../src/bootloader/file.js';
import { GrubBootloader } from '../src/bootloader/grub.js';
import { UBootBootloader } from '../src/bootloader/uboot.js';

function rejectsConfig(config: unknown, message: RegExp): void {
  assert.throws(
    () => createBootloader(config as BootloaderConfig),
    (err: unknown) => err instanceof SlipwayError && err.code === 'SLW_CONFIG_INVALID' && message.test(err.message),
  );
}

describe('choosing the bootloader backend from the configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-boot-create-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('each type gives its backend, named after it', () => {
    const uboot = createBootloader({ type: 'uboot', configFile: '/etc/fw_env.config' });
    assert.ok(uboot instanceof UBootBootloader);
    assert.equal(uboot.name, 'uboot');
    const grub = createBootloader({ type: 'grub' });
    assert.ok(grub instanceof GrubBootloader);
    assert.equal(grub.envFile, '/boot/grub/grubenv');
    const file = createBootloader({ type: 'file', envFile: join(dir, 'env.json') });
    assert.ok(file instanceof FileBootloader);
    assert.equal(file.name, 'file');
  });

  test('the slot variable and bootlimit reach the backend', async () => {
    const envFile = join(dir, 'conventions.json');
    const bootloader = createBootloader({ type: 'file', envFile, slotVariable: 'rootfs_slot', bootlimit: 4 });
    assert.equal((await bootloader.read()).bootlimit, 4);
    await bootloader.trial('b');
    assert.deepEqual(JSON.parse(await readFile(envFile, 'utf8')), {
      rootfs_slot: 'b',
      upgrade_available: '1',
      bootcount: '0',
      bootlimit: '4',
    });
  });

  test('the file backend keeps variables it does not own and reads the file another process wrote', async () => {
    const envFile = join(dir, 'shared.json');
    await writeFile(envFile, JSON.stringify({ simulator_boots: '7', slipway_slot: 'b' }));
    const bootloader = createBootloader({ type: 'file', envFile });
    assert.equal((await bootloader.read()).active, 'b');
    await bootloader.trial('a');
    assert.equal(JSON.parse(await readFile(envFile, 'utf8')).simulator_boots, '7');
  });

  test('a file environment that is not a JSON object of strings is SLW_BOOT_ENV_INVALID', async () => {
    for (const [name, text] of [
      ['torn.json', '{"slipway_slot": "b", "upgr'],
      ['array.json', '["a"]'],
      ['number.json', '{"bootcount": 1}'],
    ] as const) {
      await writeFile(join(dir, name), text);
      await assert.rejects(createBootloader({ type: 'file', envFile: join(dir, name) }).read(), { code: 'SLW_BOOT_ENV_INVALID' });
    }
  });

  test('an unknown type is SLW_CONFIG_INVALID', () => {
    rejectsConfig({ type: 'syslinux' }, /bootloader.type "syslinux" is not one of uboot, grub, file/);
  });

  test('a key of another type or an unknown key is SLW_CONFIG_INVALID, not ignored', () => {
    rejectsConfig({ type: 'grub', configFile: '/etc/fw_env.config' }, /bootloader.configFile does not apply to bootloader.type grub/);
    rejectsConfig({ type: 'uboot', envFile: '/boot/env' }, /bootloader.envFile does not apply/);
    rejectsConfig({ type: 'file', envFile: '/x', bootLimit: 3 }, /bootloader.bootLimit does not apply/);
  });

  test('the file type without envFile is SLW_CONFIG_INVALID', () => {
    rejectsConfig({ type: 'file' }, /envFile is required/);
  });

  test('a slot variable that a boot script could not hold, or a bootlimit out of range, is SLW_CONFIG_INVALID', () => {
    rejectsConfig({ type: 'grub', slotVariable: 'slot name' }, /slotVariable/);
    rejectsConfig({ type: 'grub', slotVariable: 'bootcount' }, /slotVariable/);
    rejectsConfig({ type: 'grub', slotVariable: '' }, /slotVariable must be a non-empty string/);
    rejectsConfig({ type: 'uboot', bootlimit: 0 }, /bootlimit must be an integer from 1 to 255/);
    rejectsConfig({ type: 'uboot', bootlimit: 2.5 }, /bootlimit/);
  });
});

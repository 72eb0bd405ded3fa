import { SlipwayError } from '@slipway/core';
import { type Bootloader, checkSlotVariable } from './bootloader.js';
import { FileBootloader } from './file.js';
import { GrubBootloader } from './grub.js';
import { UBootBootloader } from './uboot.js';

export type BootloaderType = 'uboot' | 'grub' | 'file';

export interface BootloaderConfig {
  type: BootloaderType;
  /** grub: the grubenv block (default /boot/grub/grubenv); file: the JSON file (required). */
  envFile?: string;
  /** uboot: the fw_env.config to pass as `-c` (default: the tool's, /etc/fw_env.config). */
  configFile?: string;
  /** uboot: the default environment for a blank env, passed as `-f` (default: the tool's, /etc/u-boot-initial-env). */
  defaultEnvFile?: string;
  /** Variable that holds the active slot; default `slipway_slot`. */
  slotVariable?: string;
  /** Trial boots before falling back when the environment sets none; default 3. */
  bootlimit?: number;
}

/** Which keys mean something for each type: a key another type uses is a mistake, not a no-op. */
const KEYS: Record<BootloaderType, readonly string[]> = {
  uboot: ['type', 'configFile', 'defaultEnvFile', 'slotVariable', 'bootlimit'],
  grub: ['type', 'envFile', 'slotVariable', 'bootlimit'],
  file: ['type', 'envFile', 'slotVariable', 'bootlimit'],
};

/** Builds the backend the agent's `bootloader` setting names. */
export function createBootloader(config: BootloaderConfig, options: { timeoutMs?: number } = {}): Bootloader {
  const type = config.type;
  if (!Object.hasOwn(KEYS, type)) {
    throw configInvalid(`bootloader.type ${JSON.stringify(type)} is not one of ${Object.keys(KEYS).join(', ')}`);
  }
  for (const key of Object.keys(config)) {
    if (!KEYS[type].includes(key)) throw configInvalid(`bootloader.${key} does not apply to bootloader.type ${type}`);
  }
  for (const key of ['envFile', 'configFile', 'defaultEnvFile', 'slotVariable'] as const) {
    const value = config[key];
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw configInvalid(`bootloader.${key} must be a non-empty string`);
  }
  if (config.slotVariable !== undefined) {
    try {
      checkSlotVariable(config.slotVariable);
    } catch (err) {
      throw configInvalid(`bootloader.slotVariable: ${(err as Error).message}`);
    }
  }
  if (config.bootlimit !== undefined && (!Number.isInteger(config.bootlimit) || config.bootlimit < 1 || config.bootlimit > 255)) {
    throw configInvalid(`bootloader.bootlimit must be an integer from 1 to 255`);
  }
  const conventions = {
    ...(config.slotVariable === undefined ? {} : { slotVariable: config.slotVariable }),
    ...(config.bootlimit === undefined ? {} : { bootlimit: config.bootlimit }),
  };
  switch (type) {
    case 'uboot':
      return new UBootBootloader({
        ...conventions,
        ...(config.configFile === undefined ? {} : { configFile: config.configFile }),
        ...(config.defaultEnvFile === undefined ? {} : { defaultEnvFile: config.defaultEnvFile }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    case 'grub':
      return new GrubBootloader({
        ...conventions,
        ...(config.envFile === undefined ? {} : { envFile: config.envFile }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    case 'file':
      if (config.envFile === undefined) throw configInvalid('bootloader.envFile is required for bootloader.type file');
      return new FileBootloader({ ...conventions, envFile: config.envFile });
  }
}

function configInvalid(message: string): SlipwayError {
  return new SlipwayError('SLW_CONFIG_INVALID', message);
}

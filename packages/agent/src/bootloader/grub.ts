import { copyFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SlipwayError } from '@slipway/core';
import { syncDirectory } from '../state/atomic-file.js';
import { EnvBootloader, type EnvConventions } from './bootloader.js';
import { DEFAULT_TOOL_TIMEOUT_MS, runTool } from './run-tool.js';

export const DEFAULT_GRUBENV = '/boot/grub/grubenv';

export interface GrubOptions extends EnvConventions {
  /** The GRUB environment block the boot script loads (`load_env`); default /boot/grub/grubenv. */
  envFile?: string;
  timeoutMs?: number;
  grubEditenv?: string;
}

/**
 * The GRUB environment block through grub-editenv. `grub-editenv FILE set` truncates FILE and
 * rewrites it in place, so a power cut could leave an empty block (GRUB would then boot the
 * default slot, maybe the wrong one). Each change is therefore made on a copy beside the file
 * with ONE `set` of all variables, checked, and renamed over the original; GRUB finds the file
 * by name at every boot, so its `save_env` keeps working on the renamed file.
 */
export class GrubBootloader extends EnvBootloader {
  readonly name = 'grub';
  readonly envFile: string;
  readonly #options: GrubOptions;

  constructor(options: GrubOptions = {}) {
    super(options);
    this.envFile = options.envFile ?? DEFAULT_GRUBENV;
    this.#options = options;
  }

  protected async load(names: readonly string[]): Promise<Map<string, string>> {
    return this.#list(this.envFile, names);
  }

  protected async store(variables: ReadonlyMap<string, string>): Promise<void> {
    const dir = dirname(this.envFile);
    const copy = join(dir, `.${basename(this.envFile)}.slipway-${process.pid}.tmp`);
    try {
      try {
        await copyFile(this.envFile, copy);
      } catch (err) {
        // No block yet: grub-editenv creates one. Never start afresh from a block it cannot read.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      // grub-editenv fsyncs the block it writes.
      await this.#run(['set', ...[...variables].map(([name, value]) => `${name}=${value}`)], copy);
      const written = await this.#list(copy, [...variables.keys()]);
      for (const [name, value] of variables) {
        if (written.get(name) !== value) {
          throw new SlipwayError(
            'SLW_BOOT_ENV_FAILED',
            `grub-editenv exited 0 but ${name} reads back as ${JSON.stringify(written.get(name))}`,
          );
        }
      }
      await rename(copy, this.envFile);
      await syncDirectory(dir);
    } catch (err) {
      await rm(copy, { force: true });
      if (err instanceof SlipwayError) throw err;
      throw new SlipwayError(
        'SLW_BOOT_ENV_FAILED',
        `cannot write ${this.envFile} (${(err as NodeJS.ErrnoException).code ?? 'I/O error'})`,
        {
          cause: err,
        },
      );
    }
  }

  async #list(file: string, names: readonly string[]): Promise<Map<string, string>> {
    const output = await this.#run(['list'], file);
    const variables = new Map<string, string>();
    for (const line of output.split('\n')) {
      const equals = line.indexOf('=');
      if (equals <= 0) continue;
      const name = line.slice(0, equals);
      if (names.includes(name)) variables.set(name, line.slice(equals + 1));
    }
    return variables;
  }

  #run(args: string[], file: string): Promise<string> {
    return runTool({
      command: this.#options.grubEditenv ?? 'grub-editenv',
      args: [file, ...args],
      debianPackage: 'grub-common',
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    });
  }
}

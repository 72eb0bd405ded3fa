import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SlipwayError } from '@slipway/core';
import { writeFileAtomic } from '../state/atomic-file.js';
import { EnvBootloader, type EnvConventions } from './bootloader.js';

export interface FileBootloaderOptions extends EnvConventions {
  /** JSON object of variable name to string value, like a bootloader environment. */
  envFile: string;
}

/**
 * A bootloader environment kept in a JSON file (`{"slipway_slot":"b","upgrade_available":"1",…}`),
 * for tests and for the boot simulator, which applies the same decision as the U-Boot and GRUB
 * scripts to it. Values are strings, as in a real environment; variables the agent does not own
 * are kept. Written atomically, so a kill leaves the old or the new file.
 */
export class FileBootloader extends EnvBootloader {
  readonly name = 'file';
  readonly envFile: string;

  constructor(options: FileBootloaderOptions) {
    super(options);
    this.envFile = options.envFile;
  }

  /** Every variable in the file; an absent file is an empty environment. */
  async loadAll(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.envFile, 'utf8');
    } catch (err) {
      // No file yet is an empty environment; no directory is a wrong path.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await isDirectory(dirname(this.envFile)))) return new Map();
      throw failed(`cannot read ${this.envFile}`, err);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new SlipwayError('SLW_BOOT_ENV_INVALID', `${this.envFile} is not JSON`, { cause: err });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new SlipwayError('SLW_BOOT_ENV_INVALID', `${this.envFile} is not a JSON object of variables`);
    }
    const variables = new Map<string, string>();
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new SlipwayError('SLW_BOOT_ENV_INVALID', `${this.envFile}: ${name} is not a string`);
      variables.set(name, value);
    }
    return variables;
  }

  protected async load(names: readonly string[]): Promise<Map<string, string>> {
    const all = await this.loadAll();
    return new Map([...all].filter(([name]) => names.includes(name)));
  }

  protected async store(variables: ReadonlyMap<string, string>): Promise<void> {
    const all = await this.loadAll();
    for (const [name, value] of variables) all.set(name, value);
    try {
      await writeFileAtomic(this.envFile, `${JSON.stringify(Object.fromEntries(all), null, 2)}\n`, 0o644);
    } catch (err) {
      throw failed(`cannot write ${this.envFile}`, err);
    }
  }
}

function failed(what: string, err: unknown): SlipwayError {
  return new SlipwayError('SLW_BOOT_ENV_FAILED', `${what} (${(err as NodeJS.ErrnoException).code ?? 'I/O error'})`, { cause: err });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

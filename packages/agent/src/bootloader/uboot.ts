import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '@slipway/core';
import { EnvBootloader, type EnvConventions } from './bootloader.js';
import { DEFAULT_TOOL_TIMEOUT_MS, runTool } from './run-tool.js';

export interface UBootOptions extends EnvConventions {
  /** fw_env.config naming the environment copies (`DEVICE-OR-FILE OFFSET SIZE`); the tool's default is /etc/fw_env.config. */
  configFile?: string;
  /**
   * Environment used when the stored one has no valid CRC (a blank env partition), passed as `-f`.
   * It must be the board's full default environment: fw_setenv writes it whole, with our variables.
   * The tool's default is /etc/u-boot-initial-env.
   */
  defaultEnvFile?: string;
  timeoutMs?: number;
  fwPrintenv?: string;
  fwSetenv?: string;
}

/**
 * The U-Boot environment through libubootenv's fw_printenv/fw_setenv. Every change is one
 * `fw_setenv -s SCRIPT`: one CRC-protected write, which with a redundant environment (two copies
 * in fw_env.config, as U-Boot's CONFIG_SYS_REDUNDAND_ENVIRONMENT) goes to the inactive copy, so a
 * power cut leaves the old or the new environment.
 */
export class UBootBootloader extends EnvBootloader {
  readonly name = 'uboot';
  readonly #options: UBootOptions;

  constructor(options: UBootOptions = {}) {
    super(options);
    this.#options = options;
  }

  protected async load(names: readonly string[]): Promise<Map<string, string>> {
    // Asking for the names (not the whole env) keeps multi-line values of other variables out of the parse.
    const output = await this.#run(this.#options.fwPrintenv ?? 'fw_printenv', [...names]);
    const variables = new Map<string, string>();
    for (const line of output.split('\n')) {
      const equals = line.indexOf('=');
      if (equals <= 0) continue;
      const name = line.slice(0, equals);
      // fw_printenv prints `name=` for an absent variable; empty and absent mean the same to U-Boot.
      if (names.includes(name) && !variables.has(name)) variables.set(name, line.slice(equals + 1));
    }
    for (const name of names) {
      if (!variables.has(name)) {
        throw new SlipwayError('SLW_BOOT_ENV_INVALID', `fw_printenv printed no line for ${name}`, {
          details: { output: output.slice(0, 4096) },
        });
      }
    }
    return variables;
  }

  protected async store(variables: ReadonlyMap<string, string>): Promise<void> {
    // libubootenv's script syntax is `name=value` per line (the older U-Boot tool used `name value`).
    const script = [...variables].map(([name, value]) => `${name}=${value}\n`).join('');
    const dir = await mkdtemp(join(tmpdir(), 'slipway-fw-setenv-'));
    try {
      const scriptFile = join(dir, 'script');
      await writeFile(scriptFile, script, { mode: 0o600 });
      await this.#run(this.#options.fwSetenv ?? 'fw_setenv', ['-s', scriptFile]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // fw_setenv ignores a script it cannot read or parse and still exits 0: check what was stored.
    const stored = await this.load([...variables.keys()]);
    for (const [name, value] of variables) {
      if (stored.get(name) !== value) {
        throw new SlipwayError('SLW_BOOT_ENV_FAILED', `fw_setenv exited 0 but ${name} reads back as ${JSON.stringify(stored.get(name))}`);
      }
    }
  }

  #run(command: string, args: string[]): Promise<string> {
    const { configFile, defaultEnvFile } = this.#options;
    return runTool({
      command,
      args: [...(configFile ? ['-c', configFile] : []), ...(defaultEnvFile ? ['-f', defaultEnvFile] : []), ...args],
      debianPackage: 'libubootenv-tool',
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    });
  }
}

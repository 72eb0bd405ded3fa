import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the simulated device keeps its boot environment: U-Boot's (through the real tools) or a JSON file. */
export type SimulatedEnv =
  | { readonly type: 'uboot'; readonly configFile: string; readonly defaultEnvFile?: string }
  | { readonly type: 'file'; readonly envFile: string };

export interface BootSimulatorOptions {
  readonly env: SimulatedEnv;
  readonly slots: { readonly a: string; readonly b: string };
  /** Written with a new id at every boot; the agent's `bootIdFile`. */
  readonly bootIdFile: string;
  /** The agent's reboot command touches this file; the simulator then reboots the device. */
  readonly rebootRequestFile: string;
  /** Whether a slot holding these bytes comes up far enough to start the agent (a kernel that boots). */
  readonly bootable: (sha256: string) => boolean;
  /** The agent process to start once a slot came up. */
  readonly agent: { readonly command: string; readonly args: readonly string[]; readonly env?: NodeJS.ProcessEnv };
  readonly slotVariable?: string;
  /**
   * Start the agent in its own process group and signal the whole group: a power cut then also
   * kills what the agent started (an fw_setenv half-way through its write), as losing power does.
   */
  readonly killProcessGroup?: boolean;
  /** Agent output, for the test's log. */
  readonly onOutput?: (text: string) => void;
  /** After every power-on or reboot: the slot that came up, or null when none did (bricked). */
  readonly onBoot?: (record: BootRecord | null) => void;
}

export interface BootRecord {
  readonly slot: 'a' | 'b';
  readonly sha256: string;
  /** How many boot attempts this power-on took (more than one: a trial slot that did not come up). */
  readonly attempts: number;
}

const MAX_BOOT_ATTEMPTS = 16;

/**
 * A gateway in a test: at power-on it does what the documented U-Boot script does (count a trial
 * boot in the environment, fall back to the other slot past `bootlimit`), "boots" the chosen slot
 * if its bytes are a kernel that comes up, and starts the agent as a real process. A reboot the
 * agent asks for, or a power cut the test makes, kills the agent and boots again, so the whole
 * update cycle runs as real processes over real files.
 */
export class BootSimulator {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private watcher: NodeJS.Timeout | null = null;
  private rebooting = false;
  /** After stop(): a reboot already under way must not start the agent (and the watcher) again. */
  private stopped = false;
  /** Power cuts and the reboots the agent asks for, one at a time: two boots at once would start two agents. */
  private power: Promise<unknown> = Promise.resolve();
  readonly boots: BootRecord[] = [];
  /** Set when no slot came up within MAX_BOOT_ATTEMPTS: the device is bricked. */
  bricked = false;

  constructor(private readonly options: BootSimulatorOptions) {}

  get running(): boolean {
    return this.child !== null;
  }

  /** The agent's pid while it runs (a fault injector looks at what it is doing). */
  get agentPid(): number | undefined {
    return this.child?.pid;
  }

  /** Power on: boot a slot and start the agent; the agent's reboot requests are followed until stop(). */
  powerOn(): Promise<BootRecord | null> {
    this.stopped = false;
    return this.start();
  }

  /**
   * Pulls the plug (SIGKILL, no warning) and powers on again. A fault injector can look at the
   * device at the cut: `frozen` runs with the agent (and, with killProcessGroup, what it started)
   * stopped by SIGSTOP at that instant, e.g. to see what it was running and had persisted; `off`
   * runs once it is dead, before the boot (a frozen fw_setenv holds libubootenv's lock, so the
   * environment can only be read then).
   */
  powerCut(inspect: { frozen?: () => Promise<void>; off?: () => Promise<void> } = {}): Promise<BootRecord | null> {
    return this.serially(async () => {
      if (inspect.frozen) {
        if (this.child) this.signal(this.child, 'SIGSTOP');
        await inspect.frozen();
      }
      await this.kill('SIGKILL');
      await inspect.off?.();
      this.stopped = false;
      return this.start();
    });
  }

  /** Stops the agent and the watcher; the device stays as it is. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
    await this.serially(() => this.kill('SIGKILL'));
  }

  /** The slot the device would boot now, without booting: what the environment says. */
  async activeSlot(): Promise<'a' | 'b'> {
    const env = await this.readEnv();
    return env.get(this.slotVariable) === 'b' ? 'b' : 'a';
  }

  async readEnv(): Promise<Map<string, string>> {
    const env = this.options.env;
    if (env.type === 'file') {
      try {
        return new Map(Object.entries(JSON.parse(await readFile(env.envFile, 'utf8')) as Record<string, string>));
      } catch {
        return new Map();
      }
    }
    const { stdout } = await run('fw_printenv', ['-c', env.configFile, ...(env.defaultEnvFile ? ['-f', env.defaultEnvFile] : [])]);
    return new Map(
      stdout
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]),
    );
  }

  private get slotVariable(): string {
    return this.options.slotVariable ?? 'slipway_slot';
  }

  private async writeEnv(variables: Record<string, string>): Promise<void> {
    const env = this.options.env;
    if (env.type === 'file') {
      const all = Object.fromEntries(await this.readEnv());
      await writeFile(env.envFile, JSON.stringify({ ...all, ...variables }));
      return;
    }
    // libubootenv reads `name=value` lines; it skips `name value` (the old U-Boot tool's syntax) and still exits 0.
    const script = Object.entries(variables)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n');
    // One fw_setenv run for all variables, as U-Boot's saveenv writes one copy: old or new, never a mix.
    await runWithInput(
      'fw_setenv',
      ['-c', env.configFile, ...(env.defaultEnvFile ? ['-f', env.defaultEnvFile] : []), '-s', '-'],
      `${script}\n`,
    );
    const stored = await this.readEnv();
    for (const [name, value] of Object.entries(variables))
      if ((stored.get(name) ?? '') !== value) throw new Error(`fw_setenv did not store ${name}=${value} (reads back ${stored.get(name)})`);
  }

  private async start(): Promise<BootRecord | null> {
    const booted = await this.boot();
    this.options.onBoot?.(booted);
    if (!booted) return null;
    this.startAgent();
    this.watch();
    return booted;
  }

  /** What the boot ROM and U-Boot do at power-on, up to the kernel coming up (or not). */
  private async boot(): Promise<BootRecord | null> {
    await rm(this.options.rebootRequestFile, { force: true });
    for (let attempt = 1; attempt <= MAX_BOOT_ATTEMPTS; attempt++) {
      const env = await this.readEnv();
      let slot: 'a' | 'b' = env.get(this.slotVariable) === 'b' ? 'b' : 'a';
      if (env.get('upgrade_available') === '1') {
        // CONFIG_BOOTCOUNT_ENV: every boot of a trial counts; past the limit, altbootcmd goes back.
        const count = Number(env.get('bootcount') ?? '0') + 1;
        const limit = Number(env.get('bootlimit') ?? '3');
        if (count > limit) {
          slot = slot === 'a' ? 'b' : 'a';
          await this.writeEnv({ [this.slotVariable]: slot, upgrade_available: '0', bootcount: '0' });
        } else {
          await this.writeEnv({ bootcount: String(count) });
        }
      }
      const sha256 = await sha256Of(this.options.slots[slot]);
      if (this.options.bootable(sha256)) {
        await writeFile(this.options.bootIdFile, `${randomUUID()}\n`);
        const record = { slot, sha256, attempts: attempt };
        this.boots.push(record);
        return record;
      }
      // The kernel did not come up: the watchdog resets the board and U-Boot runs again.
    }
    this.bricked = true;
    return null;
  }

  private startAgent(): void {
    const { command, args, env } = this.options.agent;
    const child = spawn(command, [...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
      detached: this.options.killProcessGroup === true,
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.options.onOutput?.(d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => this.options.onOutput?.(d.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.on('exit', () => {
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
  }

  private watch(): void {
    if (this.watcher || this.stopped) return;
    this.watcher = setInterval(() => {
      if (this.rebooting) return;
      stat(this.options.rebootRequestFile).then(
        async () => {
          this.rebooting = true;
          try {
            await this.serially(async () => {
              // A power cut may have come first: its boot cleared the request, and nobody asks twice.
              if (this.stopped || !(await exists(this.options.rebootRequestFile))) return;
              // systemd stops services with SIGTERM before the reboot.
              await this.kill('SIGTERM');
              await this.start();
            });
          } finally {
            this.rebooting = false;
          }
        },
        () => {},
      );
    }, 25);
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.power.then(operation, operation);
    this.power = result.catch(() => undefined);
    return result;
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    if (this.options.killProcessGroup && child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    } else child.kill(signal);
  }

  private async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const timer = setTimeout(() => this.signal(child, 'SIGKILL'), 5000);
    this.signal(child, signal);
    await this.exited;
    clearTimeout(timer);
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return 'missing';
  }
  return hash.digest('hex');
}

function runWithInput(command: string, args: readonly string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr?.on('data', (d: Buffer) => {
      errors += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${errors.trim()}`))));
    child.stdin?.end(input);
  });
}

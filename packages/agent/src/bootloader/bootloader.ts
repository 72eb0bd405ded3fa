import { SlipwayError } from '@slipway/core';

export type Slot = 'a' | 'b';

export interface BootState {
  active: Slot;
  upgradeAvailable: boolean;
  bootcount: number;
  bootlimit: number;
}

/**
 * The few operations the update needs from a bootloader (RAUC keeps its interface this small too).
 * Each write sets all its variables in one tool invocation, so a power cut leaves the old or the
 * new environment, never a mix. docs/bootloader-integration.md has the matching boot scripts.
 */
export interface Bootloader {
  readonly name: string;
  read(): Promise<BootState>;
  /** Boot `slot` once on trial: active=slot, upgrade_available=1, bootcount=0 — in ONE env write. */
  trial(slot: Slot): Promise<void>;
  /** Make the current trial permanent: upgrade_available=0, bootcount=0 (one write). */
  commit(): Promise<void>;
  /** Go back to `slot` for good: active=slot, upgrade_available=0, bootcount=0 (one write). */
  revert(slot: Slot): Promise<void>;
}

/**
 * The active slot is `slipway_slot=a|b`, not Mender's `mender_boot_part=2|3`: a partition number
 * ties the environment to one disk layout and says nothing about which copy is which, while a
 * letter leaves the slot-to-partition mapping to the boot script. The name is configurable so an
 * image that already uses another name (or runs two agents) can keep it.
 */
export const DEFAULT_SLOT_VARIABLE = 'slipway_slot';
/** U-Boot's own names (CONFIG_BOOTCOUNT_ENV reads them); the GRUB script uses the same ones. */
export const UPGRADE_AVAILABLE = 'upgrade_available';
export const BOOTCOUNT = 'bootcount';
export const BOOTLIMIT = 'bootlimit';
/** Trial boots before the bootloader falls back, when the environment sets no `bootlimit`. */
export const DEFAULT_BOOTLIMIT = 3;

export interface EnvConventions {
  /** Name of the variable that holds the active slot (`a` or `b`). */
  slotVariable?: string;
  /** Used when the environment has no `bootlimit`; written with a trial so the fallback is armed. */
  bootlimit?: number;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const COUNT = /^[0-9]{1,9}$/;

/** Checks a slot variable name: it is written unquoted into fw_setenv scripts and grub-editenv arguments. */
export function checkSlotVariable(name: string): string {
  if (!VARIABLE_NAME.test(name) || [UPGRADE_AVAILABLE, BOOTCOUNT, BOOTLIMIT].includes(name)) {
    throw new SlipwayError('SLW_BOOT_ENV_INVALID', `${JSON.stringify(name)} cannot name the slot variable (letters, digits, _)`);
  }
  return name;
}

export function isSlot(value: unknown): value is Slot {
  return value === 'a' || value === 'b';
}

function invalid(message: string): SlipwayError {
  return new SlipwayError('SLW_BOOT_ENV_INVALID', message);
}

/**
 * The state of a bootloader environment kept as `name=value` strings (U-Boot, GRUB, the JSON file).
 * Subclasses only load and store variables; every backend thus shares one reading of the
 * conventions: an absent or empty variable means its default, and a value the bootloader
 * script would misread is an error, not a guess.
 */
export abstract class EnvBootloader implements Bootloader {
  abstract readonly name: string;
  readonly slotVariable: string;
  readonly defaultBootlimit: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(conventions: EnvConventions = {}) {
    this.slotVariable = checkSlotVariable(conventions.slotVariable ?? DEFAULT_SLOT_VARIABLE);
    const bootlimit = conventions.bootlimit ?? DEFAULT_BOOTLIMIT;
    if (!Number.isInteger(bootlimit) || bootlimit < 1 || bootlimit > 255)
      throw invalid(`bootlimit ${bootlimit} is not an integer from 1 to 255`);
    this.defaultBootlimit = bootlimit;
  }

  /** The values of `names` (absent ones left out or empty), as the bootloader would see them. */
  protected abstract load(names: readonly string[]): Promise<Map<string, string>>;
  /** Sets every variable of `variables` in one write that a power cut cannot split. */
  protected abstract store(variables: ReadonlyMap<string, string>): Promise<void>;

  get variableNames(): readonly string[] {
    return [this.slotVariable, UPGRADE_AVAILABLE, BOOTCOUNT, BOOTLIMIT];
  }

  read(): Promise<BootState> {
    return this.#serial(async () => this.#parse(await this.load(this.variableNames)));
  }

  trial(slot: Slot): Promise<void> {
    return this.#serial(async () => {
      const variables = new Map([
        [this.slotVariable, checkedSlot(slot)],
        [UPGRADE_AVAILABLE, '1'],
        [BOOTCOUNT, '0'],
      ]);
      // Refuse to start a trial on an environment the boot script would misread; and without a
      // bootlimit U-Boot never falls back, so the first trial writes the configured one.
      const current = await this.load(this.variableNames);
      this.#parse(current);
      if (!current.get(BOOTLIMIT)) variables.set(BOOTLIMIT, String(this.defaultBootlimit));
      await this.store(variables);
    });
  }

  commit(): Promise<void> {
    return this.#serial(() =>
      this.store(
        new Map([
          [UPGRADE_AVAILABLE, '0'],
          [BOOTCOUNT, '0'],
        ]),
      ),
    );
  }

  revert(slot: Slot): Promise<void> {
    return this.#serial(() =>
      this.store(
        new Map([
          [this.slotVariable, checkedSlot(slot)],
          [UPGRADE_AVAILABLE, '0'],
          [BOOTCOUNT, '0'],
        ]),
      ),
    );
  }

  #parse(variables: ReadonlyMap<string, string>): BootState {
    const value = (name: string): string => variables.get(name) ?? '';
    const slot = value(this.slotVariable);
    if (slot !== '' && !isSlot(slot)) throw invalid(`${this.slotVariable}=${JSON.stringify(slot)} is not a slot (a or b)`);
    const upgrade = value(UPGRADE_AVAILABLE);
    if (upgrade !== '' && upgrade !== '0' && upgrade !== '1')
      throw invalid(`${UPGRADE_AVAILABLE}=${JSON.stringify(upgrade)} is not 0 or 1`);
    return {
      active: slot === '' ? 'a' : slot,
      upgradeAvailable: upgrade === '1',
      bootcount: count(BOOTCOUNT, value(BOOTCOUNT), 0),
      bootlimit: count(BOOTLIMIT, value(BOOTLIMIT), this.defaultBootlimit),
    };
  }

  /** One operation at a time per backend: a read-then-write trial must not interleave with another write. */
  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation, operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

function checkedSlot(slot: Slot): Slot {
  if (!isSlot(slot)) throw invalid(`${JSON.stringify(slot)} is not a slot (a or b)`);
  return slot;
}

function count(name: string, value: string, fallback: number): number {
  if (value === '') return fallback;
  if (!COUNT.test(value)) throw invalid(`${name}=${JSON.stringify(value)} is not a count`);
  return Number(value);
}

import { open } from 'node:fs/promises';
import { type ArtifactReader, fileError, SlipwayError } from '@slipway/core';
import type { Bootloader, Slot } from '../bootloader/bootloader.js';
import type { Installer, InstallerMemory } from './installer.js';

export interface RootfsSlots {
  /** The block device (or, in tests, the file) of each slot. */
  readonly a: string;
  readonly b: string;
}

const other = (slot: Slot): Slot => (slot === 'a' ? 'b' : 'a');

/**
 * A/B root file systems: the payload streams into the inactive slot (the active one is never
 * opened for writing), is synced, and only then does the bootloader get told to boot it once on
 * trial. A payload that fails verification part-way leaves a half-written inactive slot and an
 * untouched bootloader: the device keeps booting what it ran.
 */
export class RootfsInstaller implements Installer {
  readonly payloadType = 'rootfs';

  constructor(
    private readonly slots: RootfsSlots,
    private readonly bootloader: Bootloader,
  ) {}

  async store(reader: ArtifactReader, onBytes?: (bytes: number) => void): Promise<InstallerMemory> {
    const boot = await this.bootloader.read();
    const previousSlot = boot.active;
    const targetSlot = other(previousSlot);
    const path = this.slots[targetSlot];
    const payloads = reader.manifest.payloads;
    if (payloads.length !== 1)
      throw new SlipwayError(
        'SLW_ARTIFACT_UNEXPECTED_ENTRY',
        `a rootfs artifact has one payload, the slot image; this one has ${payloads.length}`,
      );
    // r+ keeps a block device as it is; a regular file (tests) is created or cut to the new length.
    const file = await open(path, 'r+').catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return open(path, 'w');
      throw fileError(err, path, 'write');
    });
    let written = 0;
    try {
      for await (const payload of reader.payloads()) {
        for await (const chunk of payload) {
          await file.write(chunk, 0, chunk.length, written);
          written += chunk.length;
          onBytes?.(written);
        }
      }
      if ((await file.stat()).isFile()) await file.truncate(written);
      await file.sync();
    } finally {
      await file.close();
    }
    return { previousSlot, targetSlot, imageBytes: written };
  }

  async install(memory: InstallerMemory): Promise<'needsReboot'> {
    await this.bootloader.trial(slot(memory.targetSlot));
    return 'needsReboot';
  }

  async runsNew(memory: InstallerMemory): Promise<boolean> {
    const boot = await this.bootloader.read();
    // The boot script turns upgrade_available off and the slot back when it gives up on a trial.
    return boot.active === slot(memory.targetSlot) && boot.upgradeAvailable;
  }

  async commit(memory: InstallerMemory): Promise<void> {
    // A power cut after the health gate is one more trial boot, and past bootlimit the bootloader
    // has gone back to the previous slot: committing now would make the old slot permanent while
    // recording (and reporting) the new release. Fail instead; the rollback reports rolled-back.
    // Active and no longer on trial is a commit already written before a kill: write it again.
    const boot = await this.bootloader.read();
    if (boot.active !== slot(memory.targetSlot))
      throw new SlipwayError(
        'SLW_INSTALLER_FAILED',
        `the bootloader fell back to slot ${boot.active} before slot ${String(memory.targetSlot)} was committed`,
      );
    await this.bootloader.commit();
  }

  async rollback(memory: InstallerMemory, newIsRunning: boolean): Promise<'needsReboot' | 'rolledBack'> {
    await this.bootloader.revert(slot(memory.previousSlot));
    return newIsRunning ? 'needsReboot' : 'rolledBack';
  }
}

function slot(value: unknown): Slot {
  if (value !== 'a' && value !== 'b') throw new SlipwayError('SLW_AGENT_STATE_INVALID', `the update record names slot ${String(value)}`);
  return value;
}

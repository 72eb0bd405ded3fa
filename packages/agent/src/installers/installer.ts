import type { ArtifactReader } from '@slipway/core';

/** What an installer keeps across restarts (in the update record): plain JSON values. */
export type InstallerMemory = Readonly<Record<string, string | number | boolean | null>>;

/**
 * One way of installing a payload type (`rootfs`, `directory`, `module:NAME`). The update state
 * machine calls these from its states; each may be called again after a kill, so each must be
 * safe to repeat: `store` rewrites the inactive copy from scratch, the others set a state.
 */
export interface Installer {
  readonly payloadType: string;
  /** downloading: writes the verified payload stream where the new software goes; never touches what runs now. */
  store(reader: ArtifactReader, onBytes?: (bytes: number) => void): Promise<InstallerMemory>;
  /** installing: switches to the new software on trial. */
  install(memory: InstallerMemory): Promise<'needsReboot' | 'installed'>;
  /** verifying: whether the new software is what runs now (false: the bootloader fell back by itself). */
  runsNew(memory: InstallerMemory): Promise<boolean>;
  /** committing: makes the trial permanent. */
  commit(memory: InstallerMemory): Promise<void>;
  /** rollingBack: back to the previous software; `needsReboot` when the new one is what runs now. */
  rollback(memory: InstallerMemory, newIsRunning: boolean): Promise<'needsReboot' | 'rolledBack'>;
}

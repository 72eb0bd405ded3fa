import { fsyncDirectory, writeFileAtomic as writeAtomically } from '@slipway/core';

/**
 * The agent's files are its own: core's atomic write (temp file, fsync, rename, fsync the
 * directory), created 0600 unless told otherwise. After a power cut a file holds either the old
 * or the new bytes, never a mix.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  return writeAtomically(path, data, { mode });
}

/** fsync of a directory: makes creations, renames and deletions in it durable. */
export const syncDirectory = fsyncDirectory;

import { open } from 'node:fs/promises';
import { fileError, SlipwayError } from '../errors/slipway-error.js';

/**
 * Reads a secret (a private key) together with the mode of the very file read: fstat of the open
 * handle, not stat of the path, so a file swapped in between cannot pass the check.
 */
export async function readSecretFile(path: string): Promise<{ readonly bytes: Buffer; readonly mode: number }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fileError(err, path, 'read');
  }
  try {
    const mode = (await handle.stat()).mode;
    return { bytes: await handle.readFile(), mode };
  } catch (err) {
    throw fileError(err, path, 'read');
  } finally {
    await handle.close();
  }
}

/** Like ssh: a private key that group or others can read is refused, whoever holds it is the owner. */
export function assertOwnerOnly(path: string, mode: number): void {
  if ((mode & 0o077) !== 0)
    throw new SlipwayError(
      'SLW_KEY_PERMISSIONS',
      `${path} is readable by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    );
}

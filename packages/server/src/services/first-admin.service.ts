import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '@slipway/core';
import type { UserRepository } from '../repositories/user.repository.js';
import { hashPassword } from './password-hasher.js';

export const INITIAL_ADMIN_PASSWORD_FILE = 'initial-admin-password';

export type FirstAdminOutcome =
  | { readonly created: false }
  | { readonly created: true; readonly username: 'admin'; readonly passwordFile: string | null };

/**
 * On the first start (no user at all) creates `admin` with the operator's password, or with a
 * random one written to DATA/initial-admin-password (0600). The password itself is never logged
 * or returned: only where it is.
 */
export async function ensureFirstAdmin(
  users: UserRepository,
  options: { dataDir: string; password: string | undefined; now: Date },
): Promise<FirstAdminOutcome> {
  if ((await users.count()) > 0) return { created: false };
  const generated = options.password === undefined || options.password === '';
  const password = generated ? randomBytes(18).toString('base64url') : (options.password as string);
  let passwordFile: string | null = null;
  if (generated) {
    passwordFile = join(options.dataDir, INITIAL_ADMIN_PASSWORD_FILE);
    // Written before the user exists: a crash in between leaves a file for a user not yet made, never a user nobody can log in as.
    await writeFileAtomic(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const at = options.now.toISOString();
  await users.insert({
    id: randomUUID(),
    username: 'admin',
    passwordHash: await hashPassword(password),
    role: 'admin',
    disabledAt: null,
    createdAt: at,
    updatedAt: at,
  });
  return { created: true, username: 'admin', passwordFile };
}

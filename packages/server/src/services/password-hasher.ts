import { hash, verify } from '@node-rs/argon2';

/** @node-rs/argon2's Algorithm.Argon2id (a const enum, which isolated modules cannot import). */
const ARGON2ID = 2;

/**
 * argon2id with OWASP's first recommended setting for servers (46 MiB, 1 pass, 1 lane): about
 * 60 ms per hash on one core here, so login cannot be used to exhaust the machine, while an
 * offline guess costs an attacker the same 46 MiB each. Parameters travel inside each hash, so
 * raising them later re-hashes users as they log in without invalidating anyone.
 */
export const PASSWORD_HASH_PARAMETERS = {
  algorithm: ARGON2ID,
  memoryCost: 47_104,
  timeCost: 1,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_PARAMETERS);
}

/** Constant-time inside argon2; a malformed stored hash verifies as false, never throws. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

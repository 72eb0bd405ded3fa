import { createHash, randomBytes } from 'node:crypto';

/** Bearer secrets: a readable prefix (s = session, t = API token) and 256 random bits. */
export function newSecret(kind: 's' | 't'): string {
  return `slw_${kind}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Secrets are stored as SHA-256: they carry 256 bits of entropy, so a fast hash loses nothing,
 * and the lookup by hash needs no per-row salt. Passwords, which are guessable, use argon2id.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

import { timingSafeEqual } from 'node:crypto';

/**
 * Browser sessions (for the web UI): the session secret in an HttpOnly cookie, and a CSRF secret
 * in a readable cookie that the UI echoes in a header on every change (double submit). The
 * __Host- prefix makes browsers refuse these cookies from any other host or path, and
 * SameSite=Strict keeps them off cross-site requests in the first place.
 */
export const SESSION_COOKIE = '__Host-slipway_session';
export const CSRF_COOKIE = '__Host-slipway_csrf';
export const CSRF_HEADER = 'x-slipway-csrf';

export function sessionCookies(session: string, csrf: string, maxAgeSeconds: number): string[] {
  const common = `Path=/; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
  return [`${SESSION_COOKIE}=${session}; HttpOnly; ${common}`, `${CSRF_COOKIE}=${csrf}; ${common}`];
}

export function clearedCookies(): string[] {
  return sessionCookies('', '', 0);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

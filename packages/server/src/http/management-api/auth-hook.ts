import { SlipwayError } from '@slipway/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_COOKIE, CSRF_HEADER, readCookie, SESSION_COOKIE, sameSecret } from '../../auth/cookies.js';
import { allows } from '../../auth/roles.js';
import type { AuditLog } from '../../services/audit-log.service.js';
import type { AuthService } from '../../services/auth.service.js';
import './route-config.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]{10,200})$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The caller's secret: a bearer header (CLI, CI) or the session cookie (browser). A change made
 * with the cookie must echo the CSRF cookie in a header, which another site cannot read.
 */
function credential(request: FastifyRequest): string {
  const bearer = BEARER.exec(request.headers.authorization ?? '');
  if (bearer) return bearer[1] as string;
  const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (!cookie) throw new SlipwayError('SLW_AUTH_REQUIRED', 'a valid session or API token is required');
  if (!SAFE_METHODS.has(request.method)) {
    const header = request.headers[CSRF_HEADER];
    if (!sameSecret(typeof header === 'string' ? header : undefined, readCookie(request.headers.cookie, CSRF_COOKIE))) {
      throw new SlipwayError('SLW_AUTH_CSRF', `a change made with the session cookie needs the ${CSRF_HEADER} header`);
    }
  }
  return cookie;
}

/**
 * Runs first (onRequest), before the body is parsed or validated and before anything is looked
 * up: an unauthenticated caller gets 401 and a forbidden one 403, never a 400 or 404 that would
 * tell them what exists. A route without a permission is refused outright (fail closed).
 */
export function authHook(auth: AuthService, audit: AuditLog) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const permission = request.routeOptions.config.permission;
    if (permission === 'public') return;
    if (permission === undefined) throw new SlipwayError('SLW_AUTH_FORBIDDEN', 'this route has no permission and is closed');
    const secret = credential(request);
    const principal = await auth.authenticate(secret, request.ip);
    if (!allows(principal.role, permission)) {
      await audit.append({
        actorType: principal.kind,
        actorId: principal.id,
        sourceIp: request.ip,
        action: 'access.denied',
        target: `${request.method} ${request.routeOptions.url}`,
        outcome: 'denied',
        details: { role: principal.role, permission },
      });
      throw new SlipwayError('SLW_AUTH_FORBIDDEN', `role ${principal.role} may not ${permission}`);
    }
    request.principal = principal;
    request.credential = secret;
  };
}

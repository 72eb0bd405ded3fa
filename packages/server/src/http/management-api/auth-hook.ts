import { SlipwayError } from '@slipway/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allows } from '../../auth/roles.js';
import type { AuditLog } from '../../services/audit-log.service.js';
import type { AuthService } from '../../services/auth.service.js';
import './route-config.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]{10,200})$/;

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
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match) throw new SlipwayError('SLW_AUTH_REQUIRED', 'a valid session or API token is required');
    const principal = await auth.authenticate(match[1] as string, request.ip);
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
  };
}

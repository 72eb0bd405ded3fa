import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { AuditLog } from '../../services/audit-log.service.js';
import './route-config.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A route that changes state must name its audit action, or the server refuses to start: the
 * services audit each change that succeeds, and `auditFailedChange` each one that fails.
 */
export function requireAuditAction(route: RouteOptions): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (methods.every((m) => SAFE_METHODS.has(m))) return;
  if (!route.config?.audit) throw new Error(`${methods.join(',')} ${route.url} changes state but names no audit action`);
}

/**
 * Audits a change an authenticated caller attempted and that failed (bad input, a conflict, a
 * missing target, an internal error). Requests refused by the auth hook are not here: a 403 is
 * already audited as access.denied, and a 401 has no actor; failed logins are audited by login.
 */
export function auditFailedChange(audit: AuditLog) {
  // onSend, not onResponse: the entry is written before the caller sees the failure.
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const action = request.routeOptions.config.audit;
    const principal = request.principal;
    if (SAFE_METHODS.has(request.method) || !action || !principal || reply.statusCode < 400) return payload;
    try {
      await audit.append({
        actorType: principal.kind,
        actorId: principal.id,
        sourceIp: request.ip,
        action,
        target: `${request.method} ${request.routeOptions.url}`,
        outcome: 'failure',
        details: { status: reply.statusCode, code: request.failureCode ?? 'unknown' },
      });
    } catch (err) {
      // The change failed anyway; the caller gets that failure, and the lost entry is logged loudly.
      request.log.error({ err, action }, 'could not audit a failed change');
    }
    return payload;
  };
}

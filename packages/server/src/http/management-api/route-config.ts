import type { Permission } from '../../auth/roles.js';
import type { Principal } from '../../services/auth.service.js';

/** Every management route declares who may call it; 'public' is only for logging in. */
export type RoutePermission = Permission | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
    /** The audit action of a route that changes state; its failures are audited under it too. */
    audit?: string;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** The secret the request authenticated with (logout ends exactly that session). */
    credential?: string;
    /** The error code the request failed with, set by the error handler (audited for failed changes). */
    failureCode?: string;
  }
}

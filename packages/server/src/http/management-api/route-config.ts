import type { Permission } from '../../auth/roles.js';
import type { Principal } from '../../services/auth.service.js';

/** Every management route declares who may call it; 'public' is only for logging in. */
export type RoutePermission = Permission | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** The secret the request authenticated with (logout ends exactly that session). */
    credential?: string;
  }
}

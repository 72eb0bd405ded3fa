import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PoolStatsSource } from '../db/pool-stats.js';
import type { Database } from '../db/schema.js';
import { ApiTokenRepository } from '../repositories/api-token.repository.js';
import { AuditRepository } from '../repositories/audit.repository.js';
import { SessionRepository } from '../repositories/session.repository.js';
import { UserRepository } from '../repositories/user.repository.js';
import { AuditLog } from '../services/audit-log.service.js';
import { AuthService } from '../services/auth.service.js';
import { LoginThrottle } from '../services/login-throttle.js';
import { TokenService } from '../services/token.service.js';
import { UserService } from '../services/user.service.js';
import { errorHandler } from './error-handler.js';
import { healthRoutes } from './health.routes.js';
import { MANAGEMENT_PREFIX, managementApi } from './management-api/plugin.js';
import { registerMetrics } from './metrics.js';
import { OneLinePerRequest } from './request-log.js';

export interface AppOptions {
  readonly db: Kysely<Database>;
  readonly databaseKind: string;
  readonly poolStats: PoolStatsSource;
  readonly logger: Logger;
  readonly version: string;
  /** TLS key and certificate; null only behind a TLS-terminating proxy (tls.behindProxy). */
  readonly tls: { readonly key: string; readonly cert: string } | null;
  readonly now?: () => Date;
  readonly throttle?: LoginThrottle;
}

export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly permission: string | undefined;
  readonly audit: string | undefined;
}

export interface SlipwayApp {
  readonly app: FastifyInstance;
  /** Every route as registered, with its permission: the role x route test is built from this. */
  readonly routes: readonly RegisteredRoute[];
}

/** Builds the app without listening, so tests drive it with inject() or a real socket alike. */
export async function buildApp(options: AppOptions): Promise<SlipwayApp> {
  const https = options.tls ? { https: { key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' as const } } : {};
  const app = Fastify({
    ...https,
    loggerInstance: options.logger,
    // Bodies are small JSON documents; artifacts will stream through their own route (issue 5).
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    logController: new OneLinePerRequest(),
    // Unknown body fields are errors, not silently dropped (Fastify's default strips them).
    ajv: { customOptions: { removeAdditional: false } },
  }) as unknown as FastifyInstance;
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods)
      if (method !== 'HEAD') routes.push({ method, url: route.url, permission: route.config?.permission, audit: route.config?.audit });
  });
  app.setErrorHandler(errorHandler);
  // OpenAPI 3 generated from the route schemas (registered first, so it sees every route).
  await app.register(swagger, {
    openapi: {
      info: { title: 'Slipway management API', version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const registry = registerMetrics(app, { version: options.version, database: options.databaseKind }, options.poolStats);
  await app.register(healthRoutes, { db: options.db, metrics: () => registry.metrics() });
  const now = options.now ?? (() => new Date());
  const auditEntries = new AuditRepository(options.db);
  const audit = new AuditLog(auditEntries, now);
  const users = new UserRepository(options.db);
  const sessions = new SessionRepository(options.db);
  const tokens = new ApiTokenRepository(options.db);
  const auth = new AuthService({ users, sessions, tokens, audit, throttle: options.throttle ?? new LoginThrottle(), now });
  await app.register(managementApi, {
    prefix: MANAGEMENT_PREFIX,
    auth,
    audit,
    users: new UserService(users, sessions, audit, now),
    tokens: new TokenService(tokens, audit, now),
    auditEntries,
  });
  return { app, routes };
}

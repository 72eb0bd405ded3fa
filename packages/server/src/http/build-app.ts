import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.js';
import { errorHandler } from './error-handler.js';
import { healthRoutes } from './health.routes.js';
import { registerMetrics } from './metrics.js';

export interface AppOptions {
  readonly db: Kysely<Database>;
  readonly databaseKind: string;
  readonly logger: Logger;
  readonly version: string;
  /** TLS key and certificate; null only behind a TLS-terminating proxy (tls.behindProxy). */
  readonly tls: { readonly key: string; readonly cert: string } | null;
}

/** Builds the app without listening, so tests drive it with inject() or a real socket alike. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const https = options.tls ? { https: { key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' as const } } : {};
  const app = Fastify({
    ...https,
    loggerInstance: options.logger,
    // Bodies are small JSON documents; artifacts will stream through their own route (issue 5).
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);
  const registry = registerMetrics(app, { version: options.version, database: options.databaseKind });
  await app.register(healthRoutes, { db: options.db, metrics: () => registry.metrics() });
  return app;
}

import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { migrationsPending } from '../db/migrate.js';
import type { Database } from '../db/schema.js';

/** Liveness, readiness and metrics: unauthenticated by design, and they reveal nothing but state. */
export async function healthRoutes(app: FastifyInstance, options: { db: Kysely<Database>; metrics: () => Promise<string> }) {
  // Probes and scrapers call these every few seconds: logging each call would bury the log (and
  // cost half the throughput); server errors are still logged.
  const quiet = { config: { quietLog: true } };
  app.get('/healthz', quiet, async () => ({ status: 'ok' }));

  app.get('/readyz', quiet, async (_request, reply) => {
    try {
      await sql`select 1`.execute(options.db);
      const pending = await migrationsPending(options.db);
      if (pending > 0) return reply.status(503).send({ status: 'not-ready', reason: `${pending} migration(s) pending` });
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ status: 'not-ready', reason: 'database unreachable' });
    }
  });

  app.get('/metrics', quiet, async (_request, reply) => {
    void reply.type('text/plain; version=0.0.4');
    return options.metrics();
  });
}

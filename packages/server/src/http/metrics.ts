import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStatsSource } from '../db/pool-stats.js';

/** Prometheus metrics: process defaults, build info, database pool, and requests by route, method and status. */
export function registerMetrics(app: FastifyInstance, build: { version: string; database: string }, poolStats: PoolStatsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'slipway_' });
  new Gauge({
    name: 'slipway_build_info',
    help: 'Slipway server build information',
    labelNames: ['version', 'database', 'node'],
    registers: [registry],
  }).set({ version: build.version, database: build.database, node: process.version }, 1);
  new Gauge({
    name: 'slipway_db_pool_connections',
    help: 'Database connections by state: total (open), idle, waiting (queries queued for a connection)',
    labelNames: ['state'],
    registers: [registry],
    // Sampled at scrape time, so the figure is current rather than as of the last request.
    collect() {
      const stats = poolStats();
      this.set({ state: 'total' }, stats.total);
      if (stats.idle !== undefined) this.set({ state: 'idle' }, stats.idle);
      if (stats.waiting !== undefined) this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  const requests = new Counter({
    name: 'slipway_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'slipway_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  // One labelled child per route, method and status, looked up by a plain string: prom-client
  // would otherwise hash the label object on every request.
  const counters = new Map<string, { inc(): void }>();
  const timers = new Map<string, { observe(seconds: number): void }>();
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids in paths must not explode the label set.
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    const status = reply.statusCode;
    const key = `${method} ${route}`;
    remembered(counters, `${key} ${status}`, () => requests.labels({ route, method, status: String(status) })).inc();
    remembered(timers, key, () => latency.labels({ route, method })).observe(reply.elapsedTime / 1000);
  });
  return registry;
}

function remembered<T>(children: Map<string, T>, key: string, make: () => T): T {
  const known = children.get(key);
  if (known) return known;
  const made = make();
  children.set(key, made);
  return made;
}

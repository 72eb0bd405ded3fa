import type { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../src/db/schema.js';
import { buildApp, createDatabase, createLogger, migrateToLatest, type RegisteredRoute, type ServerConfig } from '../../src/index.js';
import { UserRepository } from '../../src/repositories/user.repository.js';
import type { WakeupPublisher } from '../../src/services/device-wakeups.js';
import { ensureFirstAdmin } from '../../src/services/first-admin.service.js';
import { LoginThrottle } from '../../src/services/login-throttle.js';
import type { TestDatabase } from './databases.js';

export const ADMIN_PASSWORD = 'admin password for tests';
export const API = '/api/management/v1';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly routes: readonly RegisteredRoute[];
  readonly db: Kysely<Database>;
  /** Moves the app's clock (login back-off, device timestamps and tokens) without sleeping. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Device settings over the configured defaults. */
  readonly devices?: Partial<ServerConfig['devices']>;
  readonly manufacturingCas?: readonly X509Certificate[];
  readonly artifacts?: Partial<ServerConfig['artifacts']>;
  readonly wakeups?: { readonly publisher: WakeupPublisher; readonly topicPrefix: string };
  /** Serve the web UI from here (default: no UI). */
  readonly webDir?: string;
  /** Default: silent. */
  readonly logger?: Logger;
}

/** The real app (no listening socket), migrated, with the first admin, on the given database. */
export async function testApp(target: TestDatabase, options: TestAppOptions = {}): Promise<TestApp> {
  const { db, kind, poolStats, soleWriter } = createDatabase(target.config);
  await migrateToLatest(db);
  await ensureFirstAdmin(new UserRepository(db), { dataDir: target.config.dataDir, password: ADMIN_PASSWORD, now: new Date() });
  let offset = 0;
  const throttle = new LoginThrottle(() => Date.now() + offset);
  const { app, routes } = await buildApp({
    db,
    databaseKind: kind,
    poolStats,
    soleWriter,
    logger: options.logger ?? createLogger('silent'),
    version: 'test',
    tls: null,
    throttle,
    now: () => new Date(Date.now() + offset),
    devices: { ...target.config.devices, ...options.devices },
    manufacturingCas: options.manufacturingCas ?? [],
    dataDir: target.config.dataDir,
    artifacts: { ...target.config.artifacts, ...options.artifacts },
    ...(options.wakeups ? { wakeups: options.wakeups } : {}),
    ...(options.webDir !== undefined ? { webDir: options.webDir } : {}),
  });
  await app.ready();
  return {
    app,
    routes,
    db,
    advance: (ms) => {
      offset += ms;
    },
    async close() {
      await app.close();
      await db.destroy();
    },
  };
}

export async function login(app: FastifyInstance, username: string, password: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: `${API}/auth/login`, payload: { username, password } });
  if (response.statusCode !== 200) throw new Error(`login ${username}: ${response.statusCode} ${response.body}`);
  return (response.json() as { token: string }).token;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

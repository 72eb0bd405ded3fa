import type { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Value } from '@sinclair/typebox/value';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type ServerConfig, ServerConfigSchema } from '../config/server-config.js';
import type { PoolStatsSource } from '../db/pool-stats.js';
import type { Database } from '../db/schema.js';
import { ApiTokenRepository } from '../repositories/api-token.repository.js';
import { ArtifactRepository } from '../repositories/artifact.repository.js';
import { AuditRepository } from '../repositories/audit.repository.js';
import { DeploymentRepository } from '../repositories/deployment.repository.js';
import { DeviceRepository } from '../repositories/device.repository.js';
import { DeviceCache } from '../repositories/device-cache.js';
import { GroupRepository } from '../repositories/group.repository.js';
import { ReportRepository } from '../repositories/report.repository.js';
import { ServerSecretRepository } from '../repositories/server-secret.repository.js';
import { SessionRepository } from '../repositories/session.repository.js';
import { TrustRootRepository } from '../repositories/trust-root.repository.js';
import { UserRepository } from '../repositories/user.repository.js';
import { WebhookRepository } from '../repositories/webhook.repository.js';
import { ArtifactService } from '../services/artifact.service.js';
import { AuditLog } from '../services/audit-log.service.js';
import { AuthService } from '../services/auth.service.js';
import { DeploymentService } from '../services/deployment.service.js';
import { DeploymentEvents } from '../services/deployment-events.js';
import { DeviceService } from '../services/device.service.js';
import { DeviceAuthService } from '../services/device-auth.service.js';
import { DeviceDeployments } from '../services/device-deployments.js';
import { DevicePresence } from '../services/device-presence.js';
import { DeviceTokens } from '../services/device-token.js';
import { DeviceWakeups, type WakeupPublisher } from '../services/device-wakeups.js';
import { DownloadUrls } from '../services/download-urls.js';
import { FailureLimiter } from '../services/failure-limiter.js';
import { GroupService } from '../services/group.service.js';
import { LoginThrottle } from '../services/login-throttle.js';
import { ReportService } from '../services/report.service.js';
import { RolloutEngine } from '../services/rollout-engine.js';
import { TokenService } from '../services/token.service.js';
import { TrustRootService } from '../services/trust-root.service.js';
import { UserService } from '../services/user.service.js';
import { WebhookService } from '../services/webhook.service.js';
import { FileArtifactStore } from '../storage/file-artifact-store.js';
import { DEVICE_PREFIX, deviceApi } from './device-api/plugin.js';
import { errorHandler } from './error-handler.js';
import { healthRoutes } from './health.routes.js';
import { MANAGEMENT_PREFIX, managementApi } from './management-api/plugin.js';
import { registerMetrics } from './metrics.js';
import { OneLinePerRequest } from './request-log.js';
import { loadWebUi, webUi } from './web-ui.js';

export interface AppOptions {
  readonly db: Kysely<Database>;
  readonly databaseKind: string;
  readonly poolStats: PoolStatsSource;
  /** This process is the database's only writer (SQLite): device records may be cached. */
  readonly soleWriter?: boolean;
  readonly logger: Logger;
  readonly version: string;
  /** TLS key and certificate; null only behind a TLS-terminating proxy (tls.behindProxy). */
  readonly tls: { readonly key: string; readonly cert: string } | null;
  /** Device CAs and CRLs (PEM) for mutual TLS, when devices.mtls.mode is not off. */
  readonly deviceTrust?: { readonly cas: readonly string[]; readonly crls: readonly string[] };
  readonly now?: () => Date;
  readonly throttle?: LoginThrottle;
  /** Device admission and authentication settings; the schema's defaults when absent. */
  readonly devices?: ServerConfig['devices'];
  /** Where artifacts (DATA/artifacts) live. */
  readonly dataDir: string;
  readonly artifacts?: ServerConfig['artifacts'];
  readonly deployments?: ServerConfig['deployments'];
  /** Publishes wake-ups to devices over MQTT when a phase starts (absent: devices just poll). */
  readonly wakeups?: { readonly publisher: WakeupPublisher; readonly topicPrefix: string };
  /** CA certificates whose device certificates are admitted at first contact (zero-touch). */
  readonly manufacturingCas?: readonly X509Certificate[];
  /** The built web UI (index.html and assets/), served at /; absent or null: no UI. */
  readonly webDir?: string | null;
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
  const deviceConfig = options.devices ?? defaultDeviceConfig();
  const mtls = deviceConfig.mtls.mode;
  // Under mutual TLS the handshake asks for a client certificate but never fails on it: the device
  // API decides per request (required or optional), so users and browsers still reach the rest.
  const clientTls =
    mtls !== 'off' && options.deviceTrust
      ? {
          requestCert: true,
          rejectUnauthorized: false,
          ca: [...options.deviceTrust.cas],
          ...(options.deviceTrust.crls.length ? { crl: [...options.deviceTrust.crls] } : {}),
        }
      : {};
  const https = options.tls
    ? { https: { key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' as const, ...clientTls } }
    : {};
  const app = Fastify({
    ...https,
    loggerInstance: options.logger,
    // Bodies are small JSON documents; artifacts will stream through their own route (issue 5).
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    logController: new OneLinePerRequest(),
    // Download links carry their signed grant in the path (about 150 characters); every route's
    // parameters still have their own schema limits.
    routerOptions: { maxParamLength: 512 },
    // Errors the router raises before a route runs (a bad URL, an over-long parameter) get the
    // same coded answer as everything else.
    frameworkErrors: (error, request, reply) => errorHandler(error as FastifyError, request, reply),
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
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'SLW_HTTP_NOT_FOUND', message: `no route for ${request.method} ${request.url.slice(0, 200)}` } });
  });
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
  const trustRoots = new TrustRootService(new TrustRootRepository(options.db), audit, now);
  const devices = new DeviceRepository(options.db, options.soleWriter ? new DeviceCache() : undefined);
  const deviceService = new DeviceService(devices, audit, deviceConfig, now);
  const deviceTokens = await DeviceTokens.open(new ServerSecretRepository(options.db), deviceConfig.tokenLifetimeSeconds, now());
  const webhooks = new WebhookService(new WebhookRepository(options.db), audit, now, (err, what) =>
    options.logger.error({ err }, `webhooks: ${what} failed`),
  );
  webhooks.start();
  app.addHook('onClose', async () => webhooks.stop());
  const deploymentRows = new DeploymentRepository(options.db, options.databaseKind === 'postgres' ? 'postgres' : 'sqlite');
  const artifactRows = new ArtifactRepository(options.db);
  const artifacts = new ArtifactService(
    artifactRows,
    await FileArtifactStore.open(join(options.dataDir, 'artifacts')),
    trustRoots,
    audit,
    options.artifacts ?? { maxBytes: 16 * 1024 ** 3, allowUnsigned: false },
    now,
    (artifactId) => deploymentRows.liveUsing(artifactId),
  );
  const downloadUrls = await DownloadUrls.open(new ServerSecretRepository(options.db), now());
  const wakeups = options.wakeups
    ? new DeviceWakeups(deploymentRows, options.wakeups.publisher, options.wakeups.topicPrefix, (err, what) =>
        options.logger.warn({ err }, `${what} failed; they will find the deployment at their next polling round`),
      )
    : null;
  const deploymentEvents = new DeploymentEvents(audit, webhooks, wakeups);
  const rolloutEngine = new RolloutEngine(deploymentRows, deploymentEvents, now, (err, what) =>
    options.logger.error({ err }, `rollout engine: ${what} failed`),
  );
  rolloutEngine.start(options.deployments?.engineIntervalMs ?? 2000);
  app.addHook('onClose', async () => rolloutEngine.stop());
  const groupService = new GroupService(new GroupRepository(options.db), devices, deviceService, audit, now);
  const deployments = new DeploymentService(
    deploymentRows,
    artifactRows,
    devices,
    groupService,
    audit,
    deploymentEvents,
    rolloutEngine,
    now,
  );
  await app.register(managementApi, {
    prefix: MANAGEMENT_PREFIX,
    auth,
    audit,
    users: new UserService(users, sessions, audit, now),
    tokens: new TokenService(tokens, audit, now),
    auditEntries,
    devices: deviceService,
    groups: groupService,
    deployments,
    reports: new ReportService(new ReportRepository(options.db), deployments, now),
    trustRoots,
    webhooks,
    artifacts,
  });
  await app.register(deviceApi, {
    prefix: DEVICE_PREFIX,
    auth: new DeviceAuthService({
      devices,
      tokens: deviceTokens,
      audit,
      config: deviceConfig,
      manufacturingCas: options.manufacturingCas ?? [],
      byAddress: new FailureLimiter(deviceConfig.failuresPerAddress),
      byIdentity: new FailureLimiter(deviceConfig.failuresPerIdentity),
      now,
    }),
    tokens: deviceTokens,
    devices,
    service: deviceService,
    now,
    mtls,
    trustRoots,
    downloads: { urls: downloadUrls, artifacts },
    deployments: new DeviceDeployments(deploymentRows, downloadUrls, deploymentEvents, rolloutEngine, now),
    presence: new DevicePresence(devices, now, (err) => options.logger.warn({ err }, 'recording when devices were last seen failed')),
  });
  const webFiles = options.webDir ? await loadWebUi(options.webDir, options.logger) : null;
  if (webFiles) await app.register(webUi, { files: webFiles });
  return { app, routes };
}

function defaultDeviceConfig(): ServerConfig['devices'] {
  return (Value.Default(ServerConfigSchema, {}) as ServerConfig).devices;
}

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { MqttClient } from '@slipway/mqtt';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { parseListen } from './config/load-server-config.js';
import { redactConfig } from './config/redact-config.js';
import type { ServerConfig } from './config/server-config.js';
import { createDatabase } from './db/create-database.js';
import { migrateToLatest } from './db/migrate.js';
import { buildApp } from './http/build-app.js';
import { defaultWebDir } from './http/web-ui.js';
import { startMqttPublisher } from './notify/mqtt-publisher.js';
import { AuditRepository } from './repositories/audit.repository.js';
import { UserRepository } from './repositories/user.repository.js';
import { AuditLog } from './services/audit-log.service.js';
import { ensureFirstAdmin } from './services/first-admin.service.js';
import { loadCertificates, loadCrls } from './tls/load-certificates.js';
import { ensureTls } from './tls/local-ca.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface StartOptions {
  readonly logger: Logger;
  /** SLIPWAY_ADMIN_PASSWORD, passed in by main (the only reader of the environment). */
  readonly adminPassword: string | undefined;
  readonly now?: () => Date;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  /** e.g. https://127.0.0.1:8443 */
  readonly url: string;
  readonly caFile: string | null;
  close(): Promise<void>;
}

/**
 * Start-up in the order that keeps a half-finished first start harmless: data directory, TLS,
 * database and migrations, first admin, then listen. Anything that fails stops the start with a
 * coded error before a port is opened.
 */
export async function startServer(config: Readonly<ServerConfig>, options: StartOptions): Promise<RunningServer> {
  const { logger } = options;
  const now = options.now ?? (() => new Date());
  logger.info({ config: redactConfig(config) }, 'starting');
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  let tls = null;
  let caFile: string | null = null;
  if (config.tls.behindProxy) {
    logger.warn('tls.behindProxy: serving plain HTTP; a TLS-terminating proxy must stand in front');
  } else {
    const tlsDir = join(config.dataDir, 'tls');
    tls = await ensureTls(tlsDir, { ...config.tls, now: now() });
    if (tls.caCert !== null) {
      caFile = join(tlsDir, 'ca.pem');
      logger.info(
        { caFile, caFingerprintSha256: tls.caFingerprint, issued: tls.issued },
        'TLS from the local CA; pin this CA on devices and clients',
      );
    } else logger.info({ certFile: config.tls.certFile }, 'TLS from the configured certificate');
  }

  const { db, kind, location, poolStats, soleWriter } = createDatabase(config);
  let mqtt: MqttClient | null = null;
  try {
    const applied = await migrateToLatest(db);
    logger.info({ database: kind, location, applied }, 'database ready');
    if (config.artifacts.allowUnsigned) {
      logger.warn('artifacts.allowUnsigned is on: artifacts no trust root vouches for are accepted (development only)');
    }
    const admin = await ensureFirstAdmin(new UserRepository(db), { dataDir: config.dataDir, password: options.adminPassword, now: now() });
    if (admin.created) {
      await new AuditLog(new AuditRepository(db), now).append({
        actorType: 'system',
        action: 'user.create',
        target: 'admin',
        outcome: 'success',
        details: { role: 'admin', firstStart: true },
      });
      logger.info(
        admin.passwordFile ? { passwordFile: admin.passwordFile } : { passwordFrom: 'SLIPWAY_ADMIN_PASSWORD' },
        'created the first user, admin',
      );
    }
    const manufacturingCas = await loadCertificates(config.devices.manufacturingCaFiles, 'manufacturing CA');
    const deviceCas = await loadCertificates(config.devices.mtls.caFiles, 'device CA');
    const deviceCrls = await loadCrls(config.devices.mtls.crlFiles);
    mqtt = await startMqttPublisher(config.mqtt, logger);
    const webDir = config.web.dir || defaultWebDir();
    if (webDir === null) logger.warn('web UI not found: the @slipway/web package is not installed');
    const { app } = await buildApp({
      db,
      databaseKind: kind,
      poolStats,
      soleWriter,
      logger,
      version,
      tls: tls ? { key: tls.key, cert: tls.cert } : null,
      now,
      devices: config.devices,
      manufacturingCas,
      dataDir: config.dataDir,
      artifacts: config.artifacts,
      deployments: config.deployments,
      deviceTrust: { cas: deviceCas.map((c) => c.toString()), crls: deviceCrls },
      ...(mqtt ? { wakeups: { publisher: mqtt, topicPrefix: config.mqtt.topicPrefix } } : {}),
      webDir,
    });
    const { host, port } = parseListen(config.listen);
    await app.listen({ host, port });
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    const url = `${tls ? 'https' : 'http'}://${shownHost}:${boundPort}`;
    logger.info({ url }, 'listening');
    return {
      app,
      url,
      caFile,
      async close() {
        await app.close();
        await mqtt?.stop();
        await db.destroy();
      },
    };
  } catch (err) {
    await mqtt?.stop().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    throw err;
  }
}

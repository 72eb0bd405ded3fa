import type { FastifyInstance } from 'fastify';
import type { AuditRepository } from '../../repositories/audit.repository.js';
import type { ArtifactService } from '../../services/artifact.service.js';
import type { AuditLog } from '../../services/audit-log.service.js';
import type { AuthService } from '../../services/auth.service.js';
import type { DeploymentService } from '../../services/deployment.service.js';
import type { DeviceService } from '../../services/device.service.js';
import type { GroupService } from '../../services/group.service.js';
import type { ReportService } from '../../services/report.service.js';
import type { TokenService } from '../../services/token.service.js';
import type { TrustRootService } from '../../services/trust-root.service.js';
import type { UserService } from '../../services/user.service.js';
import type { WebhookService } from '../../services/webhook.service.js';
import { artifactRoutes } from './artifacts.routes.js';
import { auditRoutes } from './audit.routes.js';
import { authRoutes } from './auth.routes.js';
import { authHook } from './auth-hook.js';
import { deploymentRoutes } from './deployments.routes.js';
import { deviceRoutes } from './devices.routes.js';
import { auditFailedChange, requireAuditAction } from './failed-change-audit.js';
import { groupRoutes } from './groups.routes.js';
import { reportRoutes } from './reports.routes.js';
import { tokenRoutes } from './tokens.routes.js';
import { trustRoutes } from './trust.routes.js';
import { userRoutes } from './users.routes.js';
import { webhookRoutes } from './webhooks.routes.js';

export const MANAGEMENT_PREFIX = '/api/management/v1';

export interface ManagementServices {
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly users: UserService;
  readonly tokens: TokenService;
  readonly auditEntries: AuditRepository;
  readonly devices: DeviceService;
  readonly groups: GroupService;
  readonly trustRoots: TrustRootService;
  readonly artifacts: ArtifactService;
  readonly webhooks: WebhookService;
  readonly deployments: DeploymentService;
  readonly reports: ReportService;
}

/**
 * The management API: one encapsulated plugin whose hooks authenticate and authorize every route
 * and audit every change that fails (the services audit those that succeed).
 */
export async function managementApi(app: FastifyInstance, services: ManagementServices) {
  app.addHook('onRoute', requireAuditAction);
  app.addHook('onRequest', authHook(services.auth, services.audit));
  app.addHook('onSend', auditFailedChange(services.audit));
  await app.register(authRoutes, { auth: services.auth });
  await app.register(userRoutes, { users: services.users });
  await app.register(tokenRoutes, { tokens: services.tokens });
  await app.register(auditRoutes, { audit: services.audit, entries: services.auditEntries });
  await app.register(deviceRoutes, { devices: services.devices, deployments: services.deployments });
  await app.register(groupRoutes, { groups: services.groups });
  await app.register(trustRoutes, { roots: services.trustRoots });
  await app.register(artifactRoutes, { artifacts: services.artifacts });
  await app.register(webhookRoutes, { webhooks: services.webhooks });
  await app.register(deploymentRoutes, { deployments: services.deployments });
  await app.register(reportRoutes, { reports: services.reports });
}

import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../services/audit-log.service.js';

export async function auditRoutes(app: FastifyInstance, { audit }: { audit: AuditLog }) {
  app.get('/audit/verify', { config: { permission: 'audit.read' } }, async () => audit.verify());
}

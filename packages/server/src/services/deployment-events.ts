import type { AuditLog } from './audit-log.service.js';
import type { WebhookService } from './webhook.service.js';

export type DeploymentEventType =
  | 'deployment.created'
  | 'deployment.started'
  | 'deployment.phase-completed'
  | 'deployment.phase-advanced'
  | 'deployment.halted'
  | 'deployment.paused'
  | 'deployment.resumed'
  | 'deployment.finished'
  | 'deployment.device-failed';

/**
 * What happens to a deployment, told twice: to the audit log (who or what did it, in the chain)
 * and to webhooks subscribed to the event type. Changes the rollout engine makes by itself are
 * recorded with the `system` actor.
 */
export class DeploymentEvents {
  constructor(
    private readonly audit: AuditLog,
    private readonly webhooks: WebhookService,
  ) {}

  async system(type: DeploymentEventType, deploymentId: string, data: Record<string, unknown>): Promise<void> {
    await this.audit.append({
      actorType: 'system',
      actorId: 'rollout-engine',
      action: type,
      target: deploymentId,
      outcome: 'success',
      details: data,
    });
    await this.webhooks.publish(type, { deployment: deploymentId, ...data });
  }

  /** Events without an audit entry of their own (the caller audited the change, or it is a device's report). */
  async publish(type: DeploymentEventType, deploymentId: string, data: Record<string, unknown>): Promise<void> {
    await this.webhooks.publish(type, { deployment: deploymentId, ...data });
  }
}

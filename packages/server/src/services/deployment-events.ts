import type { AuditLog } from './audit-log.service.js';
import type { DeviceWakeups } from './device-wakeups.js';
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

/** The events after which a phase has devices that have not been offered the deployment yet. */
const PHASE_STARTS: ReadonlySet<DeploymentEventType> = new Set(['deployment.started', 'deployment.phase-advanced', 'deployment.resumed']);

/**
 * What happens to a deployment, told twice: to the audit log (who or what did it, in the chain)
 * and to webhooks subscribed to the event type; a phase that starts also wakes its devices over
 * MQTT when a broker is configured. Changes the rollout engine makes by itself are
 * recorded with the `system` actor.
 */
export class DeploymentEvents {
  constructor(
    private readonly audit: AuditLog,
    private readonly webhooks: WebhookService,
    private readonly wakeups: DeviceWakeups | null = null,
  ) {}

  /** A phase that just started has devices to wake (in the background: the caller does not wait for the broker). */
  private wake(type: DeploymentEventType, deploymentId: string): void {
    if (this.wakeups && PHASE_STARTS.has(type)) void this.wakeups.phaseStarted(deploymentId);
  }

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
    this.wake(type, deploymentId);
  }

  /** Events without an audit entry of their own (the caller audited the change, or it is a device's report). */
  async publish(type: DeploymentEventType, deploymentId: string, data: Record<string, unknown>): Promise<void> {
    await this.webhooks.publish(type, { deployment: deploymentId, ...data });
    this.wake(type, deploymentId);
  }
}

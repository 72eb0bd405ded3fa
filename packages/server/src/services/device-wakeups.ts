import type { DeploymentRepository } from '../repositories/deployment.repository.js';

/** What publishes wake-ups: the MQTT client (`@slipway/mqtt`), or a test's recorder. */
export interface WakeupPublisher {
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>;
}

/** Devices woken per batch: their publishes run at once, the batches one after another. */
const BATCH = 200;

/**
 * Tells devices over MQTT that a deployment waits for them, so they ask now instead of at their
 * next polling round: when a phase starts (first, advanced, or resumed), each device of that phase
 * that has not started gets `{"reason":"deployment"}` on `PREFIX/devices/DEVICE_ID/wake`. A wake-up
 * carries no authority: the device still fetches the deployment over HTTPS and checks the artifact
 * against its own trust root, so a forged or lost message changes nothing but timing. Best effort:
 * a broker that is down loses the wake-ups (logged), never the deployment.
 */
export class DeviceWakeups {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly publisher: WakeupPublisher,
    private readonly topicPrefix: string,
    private readonly report: (err: unknown, what: string) => void = () => {},
  ) {}

  static topic(prefix: string, deviceId: string): string {
    return `${prefix}/devices/${deviceId}/wake`;
  }

  /** Wakes the devices of the deployment's current phase that have not started; returns how many were told. Never throws. */
  async phaseStarted(deploymentId: string): Promise<number> {
    try {
      return await this.wakePhase(deploymentId);
    } catch (err) {
      this.report(err, `waking the devices of deployment ${deploymentId} over MQTT`);
      return 0;
    }
  }

  private async wakePhase(deploymentId: string): Promise<number> {
    const deployment = await this.deployments.byId(deploymentId);
    if (deployment?.status !== 'active' || deployment.currentPhase === 0) return 0;
    let woken = 0;
    let failures = 0;
    let lastError: unknown;
    for (let offset = 0; ; offset += BATCH) {
      const { rows } = await this.deployments.devices(deploymentId, { phase: deployment.currentPhase, status: 'pending' }, offset, BATCH);
      const results = await Promise.allSettled(
        rows.map((row) => this.publisher.publish(DeviceWakeups.topic(this.topicPrefix, row.deviceId), '{"reason":"deployment"}', 1)),
      );
      for (const result of results) {
        if (result.status === 'fulfilled') woken++;
        else {
          failures++;
          lastError = result.reason;
        }
      }
      if (rows.length < BATCH) break;
    }
    if (failures > 0) this.report(lastError, `waking ${failures} device(s) of deployment ${deploymentId} over MQTT`);
    return woken;
  }
}

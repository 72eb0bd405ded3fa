import { SlipwayError, type DeploymentOffer as WireDeploymentOffer } from '@slipway/core';
import type { DeploymentStatus, DeviceDeploymentStatus } from '../db/schema.js';
import { type DeploymentDeviceRow, type DeploymentRepository, LIVE } from '../repositories/deployment.repository.js';
import type { DeploymentEvents } from './deployment-events.js';
import type { DownloadUrls } from './download-urls.js';
import { type MaintenanceWindow, windowState } from './maintenance-window.js';
import type { RolloutEngine } from './rollout-engine.js';

/** What a device is told when it asks for work. */
export interface DeploymentOffer extends WireDeploymentOffer {
  readonly status: DeviceDeploymentStatus;
}

export interface StatusReport {
  readonly attempt: number;
  readonly status: DeviceDeploymentStatus;
  /** 0–100, for downloading and installing. */
  readonly progress?: number;
  readonly message?: string;
}

export interface ReportAnswer {
  readonly status: DeviceDeploymentStatus;
  readonly attempt: number;
  /** False once the device should stop working on this deployment (aborted, or finished). */
  readonly proceed: boolean;
}

/** Order of the states a device passes through; the final ones share the last rank. */
const RANK: Record<DeviceDeploymentStatus, number> = {
  pending: 0,
  downloading: 1,
  installing: 2,
  rebooting: 3,
  committing: 4,
  success: 5,
  failure: 5,
  'rolled-back': 5,
  'already-installed': 5,
  aborted: 5,
};
/** Deployments in which a failed device may try again (a succeeded one still serves latecomers). */
const RETRYABLE: readonly DeploymentStatus[] = [...LIVE, 'succeeded'];
const isFinal = (status: DeviceDeploymentStatus) => RANK[status] === 5;
const FAILED: readonly DeviceDeploymentStatus[] = ['failure', 'rolled-back'];
export const MAX_LOG_BYTES = 1024 * 1024;

/**
 * The device's side of deployments: what to work on next, status reports and failure logs.
 * Reports name their attempt, so one repeated after a lost answer changes nothing, and one from a
 * finished attempt is answered without effect; a failure with attempts left puts the device back
 * to pending with the next attempt.
 */
export class DeviceDeployments {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly urls: DownloadUrls,
    private readonly events: DeploymentEvents,
    private readonly engine: RolloutEngine,
    private readonly now: () => Date,
  ) {}

  async next(deviceId: string, downloadPath: (token: string) => string): Promise<DeploymentOffer | null> {
    const offer = await this.deployments.offerFor(deviceId);
    if (!offer) return null;
    const now = this.now();
    const { token, expiresAt } = this.urls.grant(offer.artifactId, deviceId, now, offer.deploymentId);
    const window = offer.maintenanceWindow ? windowState(JSON.parse(offer.maintenanceWindow) as MaintenanceWindow, now) : null;
    return {
      id: offer.deploymentId,
      attempt: offer.attempt,
      status: offer.deviceStatus,
      artifact: {
        id: offer.artifactId,
        name: offer.name,
        version: offer.version,
        securityVersion: offer.securityVersion,
        payloadType: offer.payloadType,
        deviceTypes: JSON.parse(offer.deviceTypes),
        size: Number(offer.size),
        sha256: offer.sha256,
      },
      download: { url: downloadPath(token), expiresAt },
      install: { allowed: window?.open ?? true, windowOpensAt: window?.opensAt ?? null, windowClosesAt: window?.closesAt ?? null },
    };
  }

  async report(deviceId: string, deploymentId: string, report: StatusReport): Promise<ReportAnswer> {
    const outcome = await this.deployments.transaction(async (tx) => {
      const row = await tx.device(deploymentId, deviceId);
      if (!row) throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `deployment ${deploymentId.slice(0, 64)} has no place for this device`);
      const deployment = await tx.byId(deploymentId);
      if (!deployment) throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment has the id ${deploymentId.slice(0, 64)}`);
      if (row.status === 'aborted') throw aborted();
      // An older attempt's report, repeated after its answer was lost: already counted.
      if (report.attempt < row.attempt) return { answer: answer(row, RETRYABLE.includes(deployment.status)), finalFailure: false };
      if (report.attempt > row.attempt) throw invalid(`this device is on attempt ${row.attempt} of the deployment, not ${report.attempt}`);
      if (isFinal(row.status)) {
        if (report.status === row.status) return { answer: answer(row, false), finalFailure: false };
        throw invalid(`this attempt has finished already (${row.status})`);
      }
      if (!isFinal(report.status) && RANK[report.status] < RANK[row.status]) {
        // A late or repeated report of an earlier step: the device is further on already.
        return { answer: answer(row, true), finalFailure: false };
      }
      const at = this.now();
      if (RANK[report.status] >= RANK.installing && RANK[row.status] < RANK.installing && !isFinal(report.status)) {
        const window = deployment.maintenanceWindow ? windowState(JSON.parse(deployment.maintenanceWindow) as MaintenanceWindow, at) : null;
        if (window && !window.open)
          throw new SlipwayError(
            'SLW_DEPLOYMENT_WINDOW_CLOSED',
            `installing waits for the maintenance window, which opens at ${window.opensAt ?? 'no future time'}`,
          );
      }
      const iso = at.toISOString();
      const message = report.message?.slice(0, 1024) ?? null;
      let change: Partial<DeploymentDeviceRow>;
      let finalFailure = false;
      if (FAILED.includes(report.status) && row.attempt < deployment.maxAttempts && RETRYABLE.includes(deployment.status)) {
        // Another attempt is allowed: the device gets the deployment again on its next request.
        change = {
          status: 'pending',
          attempt: row.attempt + 1,
          progress: null,
          message: `attempt ${row.attempt}: ${report.status}${message ? `: ${message}` : ''}`,
          updatedAt: iso,
        };
      } else if (isFinal(report.status)) {
        finalFailure = FAILED.includes(report.status);
        change = {
          status: report.status,
          progress: report.status === 'success' ? 100 : row.progress,
          message,
          updatedAt: iso,
          finishedAt: iso,
        };
      } else {
        change = {
          status: report.status,
          progress: report.progress ?? (report.status === row.status ? row.progress : null),
          message,
          updatedAt: iso,
        };
      }
      // Conditional on the row as read: of two copies of one report racing, one wins and one is a repeat.
      if (!(await tx.updateDevice(row, change))) {
        const now = await tx.device(deploymentId, deviceId);
        return { answer: answer(now ?? row, true), finalFailure: false };
      }
      return {
        answer: answer({ ...row, ...change } as DeploymentDeviceRow, deployment.status !== 'aborted'),
        finalFailure,
        phase: row.phase,
      };
    });
    if (outcome.finalFailure)
      await this.events.publish('deployment.device-failed', deploymentId, {
        device: deviceId,
        status: report.status,
        attempt: report.attempt,
        phase: outcome.phase,
        message: report.message?.slice(0, 1024) ?? null,
      });
    if (isFinal(outcome.answer.status) || outcome.answer.status === 'pending') this.engine.nudge(deploymentId);
    return outcome.answer;
  }

  async saveLog(deviceId: string, deploymentId: string, attempt: number, log: string): Promise<void> {
    const row = await this.deployments.device(deploymentId, deviceId);
    if (!row) throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `deployment ${deploymentId.slice(0, 64)} has no place for this device`);
    if (attempt < 1 || attempt > row.attempt) throw invalid(`this device has made ${row.attempt} attempt(s), not ${attempt}`);
    await this.deployments.saveLog({ deploymentId, deviceId, attempt, log, receivedAt: this.now().toISOString() });
  }

  /** Whether downloads for this deployment may go on (not once it is aborted for this device). */
  async downloadAllowed(deploymentId: string, deviceId: string): Promise<void> {
    const row = await this.deployments.device(deploymentId, deviceId);
    if (!row || row.status === 'aborted') throw aborted();
  }
}

function answer(row: DeploymentDeviceRow, proceed: boolean): ReportAnswer {
  return { status: row.status, attempt: row.attempt, proceed: proceed && !isFinal(row.status) };
}

const aborted = () => new SlipwayError('SLW_DEPLOYMENT_ABORTED', 'this deployment was aborted: stop working on it');
const invalid = (message: string) => new SlipwayError('SLW_DEPLOYMENT_REPORT_INVALID', message);

import type { DeploymentStatus, DeviceDeploymentStatus } from '../db/schema.js';
import type { DeploymentPhaseRow, DeploymentRow, StatusCount } from '../repositories/deployment.repository.js';
import type { MaintenanceWindow } from './maintenance-window.js';
import { windowText } from './maintenance-window.js';
import { type FailureLimit, failuresThatHalt, successesNeeded } from './rollout-plan.js';

/** Where devices stand: the buckets every view and threshold uses. */
export interface Tally {
  total: number;
  pending: number;
  inProgress: number;
  succeeded: number;
  failed: number;
  aborted: number;
}

export interface PhaseView {
  readonly phase: number;
  readonly spec: string;
  readonly size: number;
  readonly startAt: string | null;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly successesNeeded: number;
  readonly failuresThatHalt: number;
  readonly devices: Tally;
  /** Succeeded ÷ finished devices of the phase, in percent (null before any finished). */
  readonly successRate: number | null;
}

export interface DeploymentView {
  readonly id: string;
  readonly artifact: { readonly id: string; readonly name: string; readonly version: string };
  readonly target: string;
  readonly status: DeploymentStatus;
  readonly statusReason: string | null;
  readonly currentPhase: number;
  readonly phaseCount: number;
  readonly successThreshold: number;
  readonly maxFailures: string;
  readonly maxAttempts: number;
  readonly window: string | null;
  readonly approval: 'auto' | 'manual';
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly devices: Tally;
  readonly phases: readonly PhaseView[];
}

export const emptyTally = (): Tally => ({ total: 0, pending: 0, inProgress: 0, succeeded: 0, failed: 0, aborted: 0 });

export function bucketOf(status: DeviceDeploymentStatus): keyof Omit<Tally, 'total'> {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'success':
    case 'already-installed':
      return 'succeeded';
    case 'failure':
    case 'rolled-back':
      return 'failed';
    case 'aborted':
      return 'aborted';
    default:
      return 'inProgress';
  }
}

/** Tallies per phase (index = phase number) and for the whole deployment. */
export function tally(counts: readonly StatusCount[], phaseCount: number): { phases: Tally[]; all: Tally } {
  const phases = Array.from({ length: phaseCount + 1 }, emptyTally);
  const all = emptyTally();
  for (const { phase, status, n } of counts) {
    for (const t of [phases[phase], all]) {
      if (!t) continue;
      t.total += n;
      t[bucketOf(status)] += n;
    }
  }
  return { phases, all };
}

export const failureLimitText = (limit: FailureLimit): string => ('count' in limit ? String(limit.count) : `${limit.percent}%`);

export function deploymentView(
  row: DeploymentRow,
  artifact: { id: string; name: string; version: string },
  phaseRows: readonly DeploymentPhaseRow[],
  counts: readonly StatusCount[],
): DeploymentView {
  const limit = JSON.parse(row.maxFailures) as FailureLimit;
  const { phases, all } = tally(counts, row.phaseCount);
  return {
    id: row.id,
    artifact,
    target: row.target,
    status: row.status,
    statusReason: row.statusReason,
    currentPhase: row.currentPhase,
    phaseCount: row.phaseCount,
    successThreshold: row.successThreshold,
    maxFailures: failureLimitText(limit),
    maxAttempts: row.maxAttempts,
    window: row.maintenanceWindow ? windowText(JSON.parse(row.maintenanceWindow) as MaintenanceWindow) : null,
    approval: row.approval,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
    devices: all,
    phases: phaseRows.map((p) => {
      const t = phases[p.phase] ?? emptyTally();
      const finished = t.succeeded + t.failed;
      return {
        phase: p.phase,
        spec: p.spec,
        size: p.size,
        startAt: p.startAt,
        startedAt: p.startedAt,
        completedAt: p.completedAt,
        successesNeeded: successesNeeded(row.successThreshold, p.size),
        failuresThatHalt: failuresThatHalt(limit, p.size),
        devices: t,
        successRate: finished === 0 ? null : Math.round((t.succeeded / finished) * 10_000) / 100,
      };
    }),
  };
}

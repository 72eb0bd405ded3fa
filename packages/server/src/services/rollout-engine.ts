import type { DeploymentRepository } from '../repositories/deployment.repository.js';
import type { DeploymentEvents, DeploymentEventType } from './deployment-events.js';
import { tally } from './deployment-view.js';
import { PeriodicJob } from './periodic-job.js';
import { type FailureLimit, failuresThatHalt, successesNeeded } from './rollout-plan.js';

interface Change {
  readonly type: DeploymentEventType;
  readonly data: Record<string, unknown>;
}

/**
 * Moves rollouts on by themselves: starts a deployment's first phase at its start time, advances a
 * phase that reached its success threshold, halts one whose failures reached the limit, and
 * finishes the deployment. Every step is decided inside a transaction holding the deployment's row
 * (FOR UPDATE SKIP LOCKED on PostgreSQL) and written as a conditional update, so any number of
 * server processes may run the engine at once and each step happens exactly once.
 */
export class RolloutEngine {
  private readonly job = new PeriodicJob(
    () => this.tick(),
    (err) => this.report(err, 'evaluating rollouts'),
  );
  private readonly nudged = new Set<string>();
  private nudgeRun: Promise<void> | undefined;

  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly events: DeploymentEvents,
    private readonly now: () => Date,
    private readonly report: (err: unknown, what: string) => void = () => {},
  ) {}

  start(intervalMs: number): void {
    this.job.start(intervalMs);
  }

  async stop(): Promise<void> {
    await this.job.stop();
    await this.nudgeRun;
  }

  /** Looks at a deployment soon (a device just finished): no need to wait for the next tick. */
  nudge(deploymentId: string): void {
    this.nudged.add(deploymentId);
    this.nudgeRun ??= (async () => {
      await new Promise((resolve) => setImmediate(resolve));
      while (this.nudged.size > 0) {
        const [id] = this.nudged;
        this.nudged.delete(id as string);
        await this.settle(id as string).catch((err) => this.report(err, 'evaluating a rollout'));
      }
      this.nudgeRun = undefined;
    })();
  }

  /** One pass over every active deployment; returns the number of steps taken. */
  async tick(): Promise<number> {
    let steps = 0;
    for (const id of await this.deployments.idsWithStatus('active')) steps += await this.settle(id);
    return steps;
  }

  /** Evaluates until nothing changes (empty phases pass in one go); the number of steps taken. */
  async settle(deploymentId: string): Promise<number> {
    let steps = 0;
    // Bounded: each step moves a phase on or ends the deployment, and there are at most 20 phases.
    for (let i = 0; i < 25; i++) {
      const change = await this.evaluate(deploymentId);
      if (!change) break;
      steps++;
      await this.events.system(change.type, deploymentId, change.data);
    }
    return steps;
  }

  private evaluate(id: string): Promise<Change | null> {
    return this.deployments.transaction(async (tx) => {
      const d = await tx.lock(id, { skipLocked: true });
      if (d?.status !== 'active') return null;
      const at = this.now().toISOString();
      const phases = await tx.phases(id);
      const current = d.currentPhase;

      if (current === 0) {
        const first = phases[0];
        if (first?.startAt && first.startAt > at) return null;
        if (!(await tx.setStatus(id, ['active'], { currentPhase: 1, updatedAt: at }, 0))) return null;
        await tx.updatePhase(id, 1, { startedAt: at });
        return { type: 'deployment.started', data: { phase: 1 } };
      }

      const limit = JSON.parse(d.maxFailures) as FailureLimit;
      const counts = tally(await tx.counts([id]), d.phaseCount);
      // Halting protects devices not yet updated; once the last phase has nothing left, it is judged instead.
      const nothingLeft = current === d.phaseCount && counts.all.pending + counts.all.inProgress === 0;
      for (const phase of nothingLeft ? [] : phases) {
        if (phase.phase > current) break;
        const failed = (counts.phases[phase.phase]?.failed ?? 0) - phase.acknowledgedFailures;
        const haltAt = failuresThatHalt(limit, phase.size);
        if (failed >= haltAt) {
          const reason = `phase ${phase.phase} reached ${failed} failed device${failed === 1 ? '' : 's'} (halts at ${haltAt})`;
          if (!(await tx.setStatus(id, ['active'], { status: 'halted', statusReason: reason, updatedAt: at }, current))) return null;
          return { type: 'deployment.halted', data: { phase: phase.phase, failed, haltAt, reason } };
        }
      }

      const phase = phases[current - 1];
      const inPhase = counts.phases[current];
      if (!phase || !inPhase) return null;
      const needed = successesNeeded(d.successThreshold, phase.size);
      if (inPhase.succeeded >= needed) {
        const newlyComplete = phase.completedAt === null;
        if (newlyComplete) await tx.updatePhase(id, current, { completedAt: at });
        if (current < d.phaseCount) {
          if (d.approval === 'manual') {
            return newlyComplete
              ? { type: 'deployment.phase-completed', data: { phase: current, succeeded: inPhase.succeeded, awaitingApproval: true } }
              : null;
          }
          const next = phases[current];
          if (next?.startAt && next.startAt > at) return null;
          if (!(await tx.setStatus(id, ['active'], { currentPhase: current + 1, updatedAt: at }, current))) return null;
          await tx.updatePhase(id, current + 1, { startedAt: at });
          return {
            type: 'deployment.phase-advanced',
            data: { from: current, to: current + 1, succeeded: inPhase.succeeded, size: phase.size },
          };
        }
        // Devices still working get to finish; devices that have not called yet do not hold the
        // outcome back (they still get the update when they do).
        if (counts.all.inProgress > 0) return null;
        if (!(await tx.setStatus(id, ['active'], { status: 'succeeded', statusReason: null, updatedAt: at, finishedAt: at }, current)))
          return null;
        return { type: 'deployment.finished', data: { status: 'succeeded', devices: counts.all } };
      }

      if (inPhase.pending + inPhase.inProgress > 0) return null;
      // Every device of the phase is done and too few succeeded: the next phase must not start.
      const reason = `phase ${current} ended with ${inPhase.succeeded} of ${phase.size} devices succeeded; ${needed} needed (${d.successThreshold}%)`;
      if (current === d.phaseCount) {
        if (!(await tx.setStatus(id, ['active'], { status: 'failed', statusReason: reason, updatedAt: at, finishedAt: at }, current)))
          return null;
        await tx.abortUnstarted(id, at);
        return { type: 'deployment.finished', data: { status: 'failed', reason, devices: counts.all } };
      }
      if (!(await tx.setStatus(id, ['active'], { status: 'halted', statusReason: reason, updatedAt: at }, current))) return null;
      return { type: 'deployment.halted', data: { phase: current, reason } };
    });
  }
}

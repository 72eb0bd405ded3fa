import { randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import type { DeploymentStatus, DeviceDeploymentStatus, DeviceStatus } from '../db/schema.js';
import type { ArtifactRepository, ArtifactRow } from '../repositories/artifact.repository.js';
import type { DeploymentDeviceRow, DeploymentRepository, DeploymentRow } from '../repositories/deployment.repository.js';
import type { DeviceRepository } from '../repositories/device.repository.js';
import type { AuditLog } from './audit-log.service.js';
import type { DeploymentEvents } from './deployment-events.js';
import { type DeploymentView, deploymentView, tally } from './deployment-view.js';
import { DEVICE_ID } from './device.service.js';
import type { GroupService } from './group.service.js';
import { parseWindow } from './maintenance-window.js';
import type { RolloutEngine } from './rollout-engine.js';
import { assignPhases, parseFailureLimit, parsePhases, parseSuccessThreshold, phaseSpecText } from './rollout-plan.js';
import type { RequestContext } from './user.service.js';

/** A deployment as an operator asks for it (the CLI's flags, the API's body). */
export interface DeploymentRequest {
  /** NAME@VERSION or an artifact id. */
  readonly artifact: string;
  readonly group?: string;
  readonly devices?: readonly string[];
  /** `5%`, `canary`, `25%@2026-12-01T02:00:00Z`, …; the last is 100%. Default: one phase of 100%. */
  readonly phases?: readonly string[];
  readonly successThreshold?: string;
  readonly maxFailures?: string;
  readonly maxAttempts?: number;
  // CRON/DURATION/TIMEZONE, e.g. `0 2 * * */4h/Europe/Berlin` (a line comment: the example ends a block one).
  readonly window?: string;
  readonly approval?: 'auto' | 'manual';
}

export interface CreatedDeployment extends DeploymentView {
  /** Devices of the target that were left out, and why. */
  readonly excluded: { readonly incompatible: number; readonly notAccepted: number };
}

export interface DeploymentDeviceView {
  readonly deviceId: string;
  readonly phase: number;
  readonly status: DeviceDeploymentStatus;
  readonly attempt: number;
  readonly progress: number | null;
  readonly message: string | null;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
}

/** One deployment in a device's history: the device's row in it, named by the deployment instead. */
export interface DeviceHistoryEntry extends Omit<DeploymentDeviceView, 'deviceId'> {
  readonly deploymentId: string;
  readonly artifact: { readonly name: string; readonly version: string };
  readonly deploymentStatus: DeploymentStatus;
}

export const MAX_ATTEMPTS_LIMIT = 10;
const FINISHED: readonly DeploymentStatus[] = ['aborted', 'succeeded', 'failed'];

/** Deployments as operators see them: create, list, show, and the manual controls. */
export class DeploymentService {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly artifacts: ArtifactRepository,
    private readonly devices: DeviceRepository,
    private readonly groups: GroupService,
    private readonly audit: AuditLog,
    private readonly events: DeploymentEvents,
    private readonly engine: RolloutEngine,
    private readonly now: () => Date,
  ) {}

  async create(context: RequestContext, request: DeploymentRequest): Promise<CreatedDeployment> {
    const phases = parsePhases(request.phases ?? []);
    const successThreshold = parseSuccessThreshold(request.successThreshold);
    const maxFailures = parseFailureLimit(request.maxFailures);
    const window = request.window === undefined ? null : parseWindow(request.window);
    const maxAttempts = request.maxAttempts ?? 1;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT)
      throw new SlipwayError('SLW_DEPLOYMENT_INVALID', `max attempts is a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}`);
    if ((request.group === undefined) === (request.devices === undefined))
      throw new SlipwayError('SLW_DEPLOYMENT_INVALID', 'target either a group or a list of devices, not both and not neither');
    const artifact = await this.artifactOf(request.artifact);

    const candidates =
      request.group !== undefined ? await this.groups.devicesIn(request.group) : await this.listedDevices(request.devices ?? []);
    const compatible = new Set<string>(JSON.parse(artifact.deviceTypes) as string[]);
    let notAccepted = 0;
    let incompatible = 0;
    const targets: string[] = [];
    for (const device of candidates) {
      if (device.status !== 'accepted') notAccepted++;
      else if (device.deviceType === null || !compatible.has(device.deviceType)) incompatible++;
      else targets.push(device.id);
    }
    if (targets.length === 0)
      throw new SlipwayError(
        'SLW_DEPLOYMENT_NO_TARGETS',
        `no accepted device of type ${[...compatible].join(', ')} is in the target (${incompatible} of another or unknown type, ${notAccepted} not accepted)`,
      );

    const groupMembers = new Map<string, ReadonlySet<string>>();
    for (const phase of phases)
      if (phase.kind === 'group' && !groupMembers.has(phase.group))
        groupMembers.set(phase.group, new Set((await this.groups.devicesIn(phase.group)).map((d) => d.id)));

    const id = randomUUID();
    const at = this.now().toISOString();
    const assigned = assignPhases(id, targets, phases, groupMembers);
    const sizes = phases.map(() => 0);
    for (const phase of assigned.values()) sizes[phase - 1] = (sizes[phase - 1] ?? 0) + 1;
    const row: DeploymentRow = {
      id,
      artifactId: artifact.id,
      target: request.group !== undefined ? `group:${request.group}` : 'devices',
      status: 'active',
      statusReason: null,
      currentPhase: 0,
      phaseCount: phases.length,
      successThreshold,
      maxFailures: JSON.stringify(maxFailures),
      maxAttempts,
      maintenanceWindow: window ? JSON.stringify(window) : null,
      approval: request.approval ?? 'auto',
      createdAt: at,
      createdBy: context.principal.id,
      updatedAt: at,
      finishedAt: null,
    };
    await this.deployments.transaction((tx) =>
      tx.insert(
        row,
        phases.map((p, i) => ({
          deploymentId: id,
          phase: i + 1,
          spec: phaseSpecText(p),
          size: sizes[i] ?? 0,
          startAt: p.startAt,
          startedAt: null,
          completedAt: null,
          acknowledgedFailures: 0,
        })),
        [...assigned].map(([deviceId, phase]) => ({
          deploymentId: id,
          deviceId,
          phase,
          status: 'pending' as const,
          attempt: 1,
          progress: null,
          message: null,
          updatedAt: at,
          finishedAt: null,
        })),
      ),
    );
    await this.audit.appendFor(context, {
      action: 'deployment.create',
      target: id,
      outcome: 'success',
      details: {
        artifact: `${artifact.name}@${artifact.version}`,
        target: row.target,
        devices: targets.length,
        phases: phases.map(phaseSpecText),
        successThreshold,
        maxFailures: request.maxFailures ?? '5%',
        maxAttempts,
        window: request.window ?? null,
        approval: row.approval,
      },
    });
    await this.events.publish('deployment.created', id, { artifact: `${artifact.name}@${artifact.version}`, devices: targets.length });
    // The first phase starts now unless it has a start time: the engine decides, as it would later.
    await this.engine.settle(id);
    return { ...(await this.show(id)), excluded: { incompatible, notAccepted } };
  }

  async list(status: DeploymentStatus | undefined, page: number, perPage: number): Promise<DeploymentView[]> {
    const rows = await this.deployments.list({ status }, (page - 1) * perPage, perPage);
    const counts = await this.deployments.counts(rows.map((r) => r.id));
    return Promise.all(
      rows.map(async (row) =>
        deploymentView(
          row,
          await this.artifactSummary(row.artifactId),
          await this.deployments.phases(row.id),
          counts.filter((c) => c.deploymentId === row.id),
        ),
      ),
    );
  }

  async show(idOrPrefix: string): Promise<DeploymentView> {
    const row = await this.require(idOrPrefix);
    return deploymentView(
      row,
      await this.artifactSummary(row.artifactId),
      await this.deployments.phases(row.id),
      await this.deployments.counts([row.id]),
    );
  }

  async devicesOf(
    idOrPrefix: string,
    filter: { status?: DeviceDeploymentStatus; phase?: number },
    page: number,
    perPage: number,
  ): Promise<{ devices: DeploymentDeviceView[]; total: number }> {
    const row = await this.require(idOrPrefix);
    const { rows, total } = await this.deployments.devices(row.id, filter, (page - 1) * perPage, perPage);
    return { devices: rows.map(deviceView), total };
  }

  /** The deployments the device is (or was) a target of, newest first. */
  async historyOf(deviceId: string, limit: number): Promise<{ deployments: DeviceHistoryEntry[] }> {
    if (!DEVICE_ID.test(deviceId) || !(await this.devices.findById(deviceId)))
      throw new SlipwayError('SLW_DEVICE_NOT_FOUND', `no device has the id ${deviceId.slice(0, 64)}`);
    const rows = await this.deployments.ofDevice(deviceId, limit);
    return {
      deployments: rows.map((r) => ({
        deploymentId: r.deploymentId,
        artifact: { name: r.artifactName ?? '(deleted)', version: r.artifactVersion ?? '' },
        deploymentStatus: r.deploymentStatus,
        phase: r.phase,
        status: r.status,
        attempt: r.attempt,
        progress: r.progress,
        message: r.message,
        updatedAt: r.updatedAt,
        finishedAt: r.finishedAt,
      })),
    };
  }

  async logs(idOrPrefix: string, deviceId: string): Promise<{ attempt: number; receivedAt: string; log: string }[]> {
    const row = await this.require(idOrPrefix);
    if (!(await this.deployments.device(row.id, deviceId)))
      throw new SlipwayError('SLW_DEVICE_NOT_FOUND', `device ${deviceId.slice(0, 64)} is not a target of deployment ${row.id}`);
    return (await this.deployments.logs(row.id, deviceId)).map(({ attempt, receivedAt, log }) => ({ attempt, receivedAt, log }));
  }

  async pause(context: RequestContext, idOrPrefix: string): Promise<DeploymentView> {
    return this.control(context, idOrPrefix, 'deployment.pause', async (tx, d, at) => {
      if (d.status !== 'active') throw stateError('only an active deployment can be paused');
      await tx.setStatus(d.id, ['active'], { status: 'paused', statusReason: 'paused by an operator', updatedAt: at });
      return { type: 'deployment.paused' as const, data: {} };
    });
  }

  /** Resumes a paused or halted deployment; failures seen so far no longer count towards halting again. */
  async resume(context: RequestContext, idOrPrefix: string): Promise<DeploymentView> {
    return this.control(context, idOrPrefix, 'deployment.resume', async (tx, d, at) => {
      if (d.status !== 'paused' && d.status !== 'halted') throw stateError('only a paused or halted deployment can be resumed');
      if (d.status === 'halted') await this.acknowledgeFailures(tx, d);
      await tx.setStatus(d.id, ['paused', 'halted'], { status: 'active', statusReason: null, updatedAt: at });
      return { type: 'deployment.resumed' as const, data: { from: d.status } };
    });
  }

  /**
   * Starts the next phase now, whatever the thresholds say (the manual approval of a phase, or an
   * operator's override); a paused or halted deployment becomes active again.
   */
  async advance(context: RequestContext, idOrPrefix: string): Promise<DeploymentView> {
    return this.control(context, idOrPrefix, 'deployment.advance', async (tx, d, at) => {
      if (FINISHED.includes(d.status)) throw stateError(`deployment ${d.id} has finished (${d.status})`);
      if (d.currentPhase >= d.phaseCount) throw stateError(`deployment ${d.id} is in its last phase already`);
      if (d.status === 'halted') await this.acknowledgeFailures(tx, d);
      const next = d.currentPhase + 1;
      if (
        !(await tx.setStatus(d.id, [d.status], { status: 'active', statusReason: null, currentPhase: next, updatedAt: at }, d.currentPhase))
      )
        throw stateError('the deployment changed meanwhile; look again');
      if (d.currentPhase > 0) await tx.updatePhase(d.id, d.currentPhase, { completedAt: at });
      await tx.updatePhase(d.id, next, { startedAt: at });
      return { type: 'deployment.phase-advanced' as const, data: { from: d.currentPhase, to: next, manual: true } };
    });
  }

  /** Stops the deployment: devices not yet past installing are told to stop; the rest finish and report. */
  async abort(context: RequestContext, idOrPrefix: string): Promise<DeploymentView> {
    return this.control(context, idOrPrefix, 'deployment.abort', async (tx, d, at) => {
      if (FINISHED.includes(d.status)) throw stateError(`deployment ${d.id} has finished (${d.status})`);
      await tx.setStatus(d.id, [d.status], { status: 'aborted', statusReason: 'aborted by an operator', updatedAt: at, finishedAt: at });
      const stopped = await tx.abortUnstarted(d.id, at);
      return { type: 'deployment.finished' as const, data: { status: 'aborted', stopped } };
    });
  }

  private async control(
    context: RequestContext,
    idOrPrefix: string,
    action: string,
    change: (
      tx: DeploymentRepository,
      deployment: DeploymentRow,
      at: string,
    ) => Promise<{ type: Parameters<DeploymentEvents['publish']>[0]; data: Record<string, unknown> }>,
  ): Promise<DeploymentView> {
    const { id } = await this.require(idOrPrefix);
    const event = await this.deployments.transaction(async (tx) => {
      const row = await tx.lock(id, { skipLocked: false });
      if (!row) throw notFound(id);
      return change(tx, row, this.now().toISOString());
    });
    await this.audit.appendFor(context, { action, target: id, outcome: 'success', details: event.data });
    await this.events.publish(event.type, id, { ...event.data, by: context.principal.id });
    await this.engine.settle(id);
    return this.show(id);
  }

  private async acknowledgeFailures(tx: DeploymentRepository, d: DeploymentRow): Promise<void> {
    const counts = tally(await tx.counts([d.id]), d.phaseCount);
    for (let phase = 1; phase <= d.phaseCount; phase++)
      await tx.updatePhase(d.id, phase, { acknowledgedFailures: counts.phases[phase]?.failed ?? 0 });
  }

  private async listedDevices(ids: readonly string[]): Promise<{ id: string; status: DeviceStatus; deviceType: string | null }[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) throw new SlipwayError('SLW_DEPLOYMENT_INVALID', 'name at least one device');
    const found = await this.devices.statusesOf(unique);
    if (found.length < unique.length) {
      const known = new Set(found.map((d) => d.id));
      throw new SlipwayError('SLW_DEVICE_NOT_FOUND', `no device has the id ${unique.find((id) => !known.has(id))?.slice(0, 64)}`);
    }
    return found;
  }

  private async artifactOf(reference: string): Promise<ArtifactRow> {
    const at = reference.lastIndexOf('@');
    const artifact =
      at > 0 ? await this.artifacts.byNameVersion(reference.slice(0, at), reference.slice(at + 1)) : await this.artifacts.byId(reference);
    if (!artifact) throw new SlipwayError('SLW_ARTIFACT_NOT_FOUND', `no artifact ${reference.slice(0, 128)} is stored (upload it first)`);
    return artifact;
  }

  private async artifactSummary(id: string): Promise<{ id: string; name: string; version: string }> {
    const artifact = await this.artifacts.byId(id);
    return { id, name: artifact?.name ?? '(deleted)', version: artifact?.version ?? '' };
  }

  /** A full id, or a unique prefix of at least 8 characters (what `deployments list` shows). */
  private async require(idOrPrefix: string): Promise<DeploymentRow> {
    const exact = await this.deployments.byId(idOrPrefix);
    if (exact) return exact;
    if (idOrPrefix.length >= 8) {
      const ids = await this.deployments.idsStartingWith(idOrPrefix);
      if (ids.length > 1)
        throw new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `${idOrPrefix} names more than one deployment; give more of the id`);
      const row = ids[0] ? await this.deployments.byId(ids[0]) : undefined;
      if (row) return row;
    }
    throw notFound(idOrPrefix);
  }
}

const notFound = (id: string) => new SlipwayError('SLW_DEPLOYMENT_NOT_FOUND', `no deployment has the id ${id.slice(0, 64)}`);
const stateError = (message: string) => new SlipwayError('SLW_DEPLOYMENT_STATE', message);

function deviceView(row: DeploymentDeviceRow): DeploymentDeviceView {
  return {
    deviceId: row.deviceId,
    phase: row.phase,
    status: row.status,
    attempt: row.attempt,
    progress: row.progress,
    message: row.message,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
  };
}

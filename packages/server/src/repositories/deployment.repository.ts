import { type Kysely, sql } from 'kysely';
import type {
  Database,
  DeploymentDeviceTable,
  DeploymentPhaseTable,
  DeploymentStatus,
  DeploymentTable,
  DeviceDeploymentStatus,
} from '../db/schema.js';

export type DeploymentRow = DeploymentTable;
export type DeploymentPhaseRow = DeploymentPhaseTable;
export type DeploymentDeviceRow = DeploymentDeviceTable;

/** A device's offer: its row in a deployment, the deployment and the artifact. */
export interface OfferRow {
  readonly deploymentId: string;
  readonly deviceStatus: DeviceDeploymentStatus;
  readonly attempt: number;
  readonly maintenanceWindow: string | null;
  readonly artifactId: string;
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly payloadType: string;
  readonly deviceTypes: string;
  readonly size: number | string;
  readonly sha256: string;
}

/** A device's row in one deployment, with that deployment's status and artifact (null once deleted). */
export interface DeviceHistoryRow extends DeploymentDeviceRow {
  readonly deploymentStatus: DeploymentStatus;
  readonly artifactName: string | null;
  readonly artifactVersion: string | null;
}

export interface StatusCount {
  readonly deploymentId: string;
  readonly phase: number;
  readonly status: DeviceDeploymentStatus;
  readonly n: number;
}

/** Not final yet: the device is still working on it (or has not started). */
export const UNFINISHED: readonly DeviceDeploymentStatus[] = ['pending', 'downloading', 'installing', 'rebooting', 'committing'];
/** Deployments that still do something (and keep their artifact from being deleted). */
export const LIVE: readonly DeploymentStatus[] = ['active', 'paused', 'halted'];
const INSERT_CHUNK = 500;

/** Deployments, their phases, every target device's progress and failure logs. */
export class DeploymentRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  transaction<T>(work: (repository: DeploymentRepository) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new DeploymentRepository(trx as unknown as Kysely<Database>, this.dialect)));
  }

  async insert(deployment: DeploymentRow, phases: readonly DeploymentPhaseRow[], devices: readonly DeploymentDeviceRow[]) {
    await this.db.insertInto('deployment').values(deployment).execute();
    await this.db
      .insertInto('deploymentPhase')
      .values([...phases])
      .execute();
    for (let i = 0; i < devices.length; i += INSERT_CHUNK)
      await this.db
        .insertInto('deploymentDevice')
        .values(devices.slice(i, i + INSERT_CHUNK))
        .execute();
  }

  async byId(id: string): Promise<DeploymentRow | undefined> {
    return this.db.selectFrom('deployment').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Ids starting with the prefix (at most two: enough to tell unique from ambiguous). */
  async idsStartingWith(prefix: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('deployment')
      .select('id')
      .where('id', '>=', prefix)
      .where('id', '<', `${prefix}\u{10ffff}`)
      .limit(2)
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * The deployment, locked until the caller's transaction ends (PostgreSQL; SQLite has one writer
   * at a time anyway). `skipLocked`: a row another process holds is skipped (undefined), so two
   * rollout engines never evaluate one deployment at once; without it an operator's change waits
   * its turn.
   */
  async lock(id: string, options: { skipLocked: boolean }): Promise<DeploymentRow | undefined> {
    const query = this.db.selectFrom('deployment').selectAll().where('id', '=', id);
    if (this.dialect !== 'postgres') return query.executeTakeFirst();
    return options.skipLocked ? query.forUpdate().skipLocked().executeTakeFirst() : query.forUpdate().executeTakeFirst();
  }

  async list(filter: { status?: DeploymentStatus }, offset: number, limit: number): Promise<DeploymentRow[]> {
    let query = this.db.selectFrom('deployment').selectAll();
    if (filter.status) query = query.where('status', '=', filter.status);
    return query.orderBy('createdAt', 'desc').orderBy('id').offset(offset).limit(limit).execute();
  }

  async idsWithStatus(status: DeploymentStatus): Promise<string[]> {
    return (await this.db.selectFrom('deployment').select('id').where('status', '=', status).orderBy('createdAt').execute()).map(
      (r) => r.id,
    );
  }

  async liveUsing(artifactId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('deployment')
      .select('id')
      .where('artifactId', '=', artifactId)
      .where('status', 'in', [...LIVE])
      .execute();
    return rows.map((r) => r.id);
  }

  async phases(deploymentId: string): Promise<DeploymentPhaseRow[]> {
    return this.db.selectFrom('deploymentPhase').selectAll().where('deploymentId', '=', deploymentId).orderBy('phase').execute();
  }

  /** Devices per deployment, phase and status. */
  async counts(deploymentIds: readonly string[]): Promise<StatusCount[]> {
    if (deploymentIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('deploymentDevice')
      .select(['deploymentId', 'phase', 'status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('deploymentId', 'in', [...deploymentIds])
      .groupBy(['deploymentId', 'phase', 'status'])
      .execute();
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  async devices(
    deploymentId: string,
    filter: { status?: DeviceDeploymentStatus; phase?: number },
    offset: number,
    limit: number,
  ): Promise<{ rows: DeploymentDeviceRow[]; total: number }> {
    let query = this.db.selectFrom('deploymentDevice').where('deploymentId', '=', deploymentId);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.phase !== undefined) query = query.where('phase', '=', filter.phase);
    const total = await query.select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy('phase').orderBy('deviceId').offset(offset).limit(limit).execute();
    return { rows, total: Number(total.n) };
  }

  /** Every deployment the device is a target of, newest first (a deleted artifact leaves nulls). */
  async ofDevice(deviceId: string, limit: number): Promise<DeviceHistoryRow[]> {
    return this.db
      .selectFrom('deploymentDevice as dd')
      .innerJoin('deployment as d', 'd.id', 'dd.deploymentId')
      .leftJoin('artifact as a', 'a.id', 'd.artifactId')
      .selectAll('dd')
      .select(['d.status as deploymentStatus', 'a.name as artifactName', 'a.version as artifactVersion'])
      .where('dd.deviceId', '=', deviceId)
      .orderBy('d.createdAt', 'desc')
      .orderBy('d.id', 'desc')
      .limit(limit)
      .execute();
  }

  async device(deploymentId: string, deviceId: string): Promise<DeploymentDeviceRow | undefined> {
    return this.db
      .selectFrom('deploymentDevice')
      .selectAll()
      .where('deploymentId', '=', deploymentId)
      .where('deviceId', '=', deviceId)
      .executeTakeFirst();
  }

  /**
   * What the device should work on: a deployment it has started comes first, then the oldest it
   * has not. Paused and halted deployments let started devices finish but start no new ones; a
   * succeeded one is still offered to the devices that had not called before it succeeded.
   */
  async offerFor(deviceId: string): Promise<OfferRow | undefined> {
    return this.db
      .selectFrom('deploymentDevice as dd')
      .innerJoin('deployment as d', 'd.id', 'dd.deploymentId')
      .innerJoin('artifact as a', 'a.id', 'd.artifactId')
      .select([
        'dd.deploymentId',
        'dd.status as deviceStatus',
        'dd.attempt',
        'd.maintenanceWindow',
        'a.id as artifactId',
        'a.name',
        'a.version',
        'a.securityVersion',
        'a.payloadType',
        'a.deviceTypes',
        'a.size',
        'a.sha256',
      ])
      .where('dd.deviceId', '=', deviceId)
      .where('dd.status', 'in', [...UNFINISHED])
      .whereRef('dd.phase', '<=', 'd.currentPhase')
      .where((eb) =>
        eb.or([
          eb('d.status', 'in', ['active', 'succeeded']),
          eb.and([eb('d.status', 'in', ['paused', 'halted']), eb('dd.status', '<>', 'pending')]),
        ]),
      )
      .orderBy(sql`case when ${sql.ref('dd.status')} = 'pending' then 1 else 0 end`)
      .orderBy('d.createdAt')
      .orderBy('d.id')
      .limit(1)
      .executeTakeFirst();
  }

  /** Changes a device's row only if it is still as the caller read it; false when it was not. */
  async updateDevice(
    expected: Pick<DeploymentDeviceRow, 'deploymentId' | 'deviceId' | 'status' | 'attempt'>,
    change: Partial<Pick<DeploymentDeviceRow, 'status' | 'attempt' | 'progress' | 'message' | 'updatedAt' | 'finishedAt'>>,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('deploymentDevice')
      .set(change)
      .where('deploymentId', '=', expected.deploymentId)
      .where('deviceId', '=', expected.deviceId)
      .where('status', '=', expected.status)
      .where('attempt', '=', expected.attempt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Moves a deployment from one of the expected states; false when another change came first. */
  async setStatus(
    id: string,
    from: readonly DeploymentStatus[],
    change: Partial<Pick<DeploymentRow, 'status' | 'statusReason' | 'currentPhase' | 'updatedAt' | 'finishedAt'>>,
    expectedPhase?: number,
  ): Promise<boolean> {
    let query = this.db
      .updateTable('deployment')
      .set(change)
      .where('id', '=', id)
      .where('status', 'in', [...from]);
    if (expectedPhase !== undefined) query = query.where('currentPhase', '=', expectedPhase);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async updatePhase(
    deploymentId: string,
    phase: number,
    change: Partial<Pick<DeploymentPhaseRow, 'startedAt' | 'completedAt' | 'acknowledgedFailures'>>,
  ) {
    await this.db.updateTable('deploymentPhase').set(change).where('deploymentId', '=', deploymentId).where('phase', '=', phase).execute();
  }

  /** Tells every device that has not got past installing to stop. */
  async abortUnstarted(deploymentId: string, at: string): Promise<number> {
    const result = await this.db
      .updateTable('deploymentDevice')
      .set({ status: 'aborted', updatedAt: at, finishedAt: at })
      .where('deploymentId', '=', deploymentId)
      .where('status', 'in', ['pending', 'downloading', 'installing'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async saveLog(row: Database['deploymentLog']): Promise<void> {
    await this.db
      .insertInto('deploymentLog')
      .values(row)
      .onConflict((oc) => oc.columns(['deploymentId', 'deviceId', 'attempt']).doUpdateSet({ log: row.log, receivedAt: row.receivedAt }))
      .execute();
  }

  async logs(deploymentId: string, deviceId: string): Promise<Database['deploymentLog'][]> {
    return this.db
      .selectFrom('deploymentLog')
      .selectAll()
      .where('deploymentId', '=', deploymentId)
      .where('deviceId', '=', deviceId)
      .orderBy('attempt')
      .execute();
  }
}

import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

export interface VersionCount {
  readonly deviceType: string | null;
  readonly artifactName: string | null;
  readonly artifactVersion: string | null;
  readonly devices: number;
}

export interface SilentDevice {
  readonly id: string;
  readonly identity: string;
  readonly deviceType: string | null;
  readonly lastSeenAt: string | null;
}

/** The read-only queries behind fleet reports. */
export class ReportRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Accepted devices by type and the artifact their inventory says they run. */
  async versions(): Promise<VersionCount[]> {
    const rows = await this.db
      .selectFrom('device as d')
      .leftJoin('deviceAttribute as n', (j) =>
        j.onRef('n.deviceId', '=', 'd.id').on('n.scope', '=', 'inventory').on('n.name', '=', 'artifact_name'),
      )
      .leftJoin('deviceAttribute as v', (j) =>
        j.onRef('v.deviceId', '=', 'd.id').on('v.scope', '=', 'inventory').on('v.name', '=', 'artifact_version'),
      )
      .select([
        'd.deviceType',
        'n.value as artifactName',
        'v.value as artifactVersion',
        (eb) => eb.fn.countAll<string | number>().as('devices'),
      ])
      .where('d.status', '=', 'accepted')
      .groupBy(['d.deviceType', 'n.value', 'v.value'])
      .execute();
    return rows.map((r) => ({ ...r, devices: Number(r.devices) }));
  }

  /**
   * Accepted devices not heard from since `before` (last request with a valid token, or last
   * authentication; never, for one that has not called since it was admitted), longest silent first.
   */
  async silentSince(before: string, limit: number): Promise<{ devices: SilentDevice[]; total: number }> {
    const lastSeen = sql<string | null>`coalesce(${sql.ref('lastSeenAt')}, ${sql.ref('lastAuthAt')})`;
    const query = this.db
      .selectFrom('device')
      .where('status', '=', 'accepted')
      .where((eb) => eb.or([eb(lastSeen, 'is', null), eb(lastSeen, '<', before)]));
    const total = await query.select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
    const devices = await query
      .select(['id', 'identity', 'deviceType', lastSeen.as('lastSeenAt')])
      .orderBy(sql`coalesce(${sql.ref('lastSeenAt')}, ${sql.ref('lastAuthAt')}, '')`)
      .orderBy('id')
      .limit(limit)
      .execute();
    return { devices, total: Number(total.n) };
  }
}

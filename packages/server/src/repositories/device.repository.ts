import type { Kysely, Transaction } from 'kysely';
import { BatchedLookup } from '../db/batched-lookup.js';
import { preparedQuery } from '../db/prepared-query.js';
import type { Database, DeviceAuthEventTable, DeviceKeyTable, DeviceStatus, DeviceTable } from '../db/schema.js';
import type { DeviceCache } from './device-cache.js';

export type DeviceRow = DeviceTable;
export type DeviceKeyRow = DeviceKeyTable;
export type CurrentDevice = Pick<DeviceTable, 'id' | 'status' | 'identity' | 'deviceType' | 'inventoryAt'>;

export interface DeviceFilter {
  readonly status?: DeviceStatus;
  /** Attribute name → value, matched against identity and inventory attributes alike; all must match. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Only members of this static group. */
  readonly staticGroupId?: string;
}

type Db = Kysely<Database> | Transaction<Database>;

/** The row of a device first registered now: nothing reported, never authenticated. */
export function newDeviceRow(id: string, identity: string, status: DeviceStatus, statusBy: string, at: string): DeviceRow {
  return {
    id,
    identity,
    status,
    statusBy,
    createdAt: at,
    updatedAt: at,
    lastAuthAt: null,
    deviceType: null,
    inventory: null,
    inventoryAt: null,
    lastSeenAt: null,
  };
}

/** Plain queries over devices, their keys, attributes, nonces and authentication history. */
export class DeviceRepository {
  /** Read on every device API request: is the token's device still accepted, and who is it? */
  private readonly selectCurrent;
  /** The same read, for many devices at once, when nothing is cached (several server processes). */
  private readonly currentBatch: BatchedLookup<CurrentDevice>;

  constructor(
    private readonly db: Kysely<Database>,
    /** Only when this process is the database's sole writer (see DeviceCache). */
    private readonly cache?: DeviceCache,
  ) {
    this.selectCurrent = preparedQuery(db, (db, id) =>
      db.selectFrom('device').select(['id', 'status', 'identity', 'deviceType', 'inventoryAt']).where('id', '=', id),
    );
    this.currentBatch = new BatchedLookup(async (ids) => {
      const rows = await db
        .selectFrom('device')
        .select(['id', 'status', 'identity', 'deviceType', 'inventoryAt'])
        .where('id', 'in', [...ids])
        .execute();
      return new Map(rows.map((row) => [row.id, row]));
    });
  }

  transaction<T>(work: (repository: DeviceRepository, trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new DeviceRepository(trx as unknown as Kysely<Database>, this.cache), trx));
  }

  /** The device as a device request needs it: one indexed read by primary key. */
  async current(id: string): Promise<CurrentDevice | undefined> {
    const cached = this.cache?.get(id);
    if (cached) return cached;
    if (!this.cache) return this.currentBatch.get(id);
    const snapshot = this.cache.snapshot();
    const device = (await this.selectCurrent(id))[0];
    if (device) this.cache.remember(id, device, snapshot);
    return device;
  }

  async findById(id: string): Promise<DeviceRow | undefined> {
    return this.db.selectFrom('device').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByIdentity(identity: string): Promise<DeviceRow | undefined> {
    return this.db.selectFrom('device').selectAll().where('identity', '=', identity).executeTakeFirst();
  }

  async keysOf(deviceId: string): Promise<DeviceKeyRow[]> {
    return this.db.selectFrom('deviceKey').selectAll().where('deviceId', '=', deviceId).orderBy('createdAt').execute();
  }

  /** Which of these ids exist. */
  /** Status and type of the devices with these ids (unknown ids are left out), a chunk at a time. */
  async statusesOf(ids: readonly string[]): Promise<Pick<DeviceRow, 'id' | 'status' | 'deviceType'>[]> {
    const rows: Pick<DeviceRow, 'id' | 'status' | 'deviceType'>[] = [];
    for (let i = 0; i < ids.length; i += 500)
      rows.push(
        ...(await this.db
          .selectFrom('device')
          .select(['id', 'status', 'deviceType'])
          .where('id', 'in', ids.slice(i, i + 500))
          .execute()),
      );
    return rows;
  }

  async existing(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return (
      await this.db
        .selectFrom('device')
        .select('id')
        .where('id', 'in', [...ids])
        .execute()
    ).map((r) => r.id);
  }

  async keyOwner(keyId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('deviceKey').select('deviceId').where('keyId', '=', keyId).executeTakeFirst())?.deviceId;
  }

  async insert(device: DeviceRow, identity: Readonly<Record<string, string>>, keys: readonly DeviceKeyRow[]): Promise<void> {
    await this.db.insertInto('device').values(device).execute();
    await this.setAttributes(this.db, device.id, 'identity', identity);
    if (keys.length > 0)
      await this.db
        .insertInto('deviceKey')
        .values([...keys])
        .execute();
  }

  /** Moves a device to `to` only from one of `from`; false when it was in another status. */
  async transition(id: string, from: readonly DeviceStatus[], to: DeviceStatus, by: string, at: string): Promise<boolean> {
    this.cache?.forget(id);
    const result = await this.db
      .updateTable('device')
      .set({ status: to, statusBy: by, updatedAt: at })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async replaceKeys(deviceId: string, keys: readonly DeviceKeyRow[]): Promise<void> {
    await this.db.deleteFrom('deviceKey').where('deviceId', '=', deviceId).execute();
    if (keys.length > 0)
      await this.db
        .insertInto('deviceKey')
        .values([...keys])
        .execute();
  }

  async dropKeys(deviceId: string, state: DeviceKeyRow['state']): Promise<void> {
    await this.db.deleteFrom('deviceKey').where('deviceId', '=', deviceId).where('state', '=', state).execute();
  }

  async addKey(key: DeviceKeyRow): Promise<void> {
    await this.db.insertInto('deviceKey').values(key).execute();
  }

  /** Completes a rotation: `keyId` becomes the device's only key. */
  async keepOnlyKey(deviceId: string, keyId: string): Promise<void> {
    await this.db.deleteFrom('deviceKey').where('deviceId', '=', deviceId).where('keyId', '!=', keyId).execute();
    await this.db.updateTable('deviceKey').set({ state: 'active' }).where('keyId', '=', keyId).execute();
  }

  async countByStatus(status: DeviceStatus): Promise<number> {
    const row = await this.db
      .selectFrom('device')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('status', '=', status)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async markAuthenticated(id: string, at: string): Promise<void> {
    await this.db.updateTable('device').set({ lastAuthAt: at }).where('id', '=', id).execute();
  }

  async recordAuthEvent(event: DeviceAuthEventTable): Promise<void> {
    await this.db.insertInto('deviceAuthEvent').values(event).execute();
  }

  async authEvents(deviceId: string, limit: number): Promise<DeviceAuthEventTable[]> {
    return this.db.selectFrom('deviceAuthEvent').selectAll().where('deviceId', '=', deviceId).orderBy('at', 'desc').limit(limit).execute();
  }

  /** False when the nonce was seen before (a replay). */
  async claimNonce(nonce: string, expiresAt: string): Promise<boolean> {
    const result = await this.db
      .insertInto('deviceNonce')
      .values({ nonce, expiresAt })
      .onConflict((oc) => oc.column('nonce').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async forgetAuthEventsBefore(at: string): Promise<void> {
    await this.db.deleteFrom('deviceAuthEvent').where('at', '<', at).execute();
  }

  async forgetNoncesBefore(at: string): Promise<void> {
    await this.db.deleteFrom('deviceNonce').where('expiresAt', '<', at).execute();
  }

  async setInventory(id: string, inventory: string, deviceType: string | null, attributes: Readonly<Record<string, string>>, at: string) {
    this.cache?.forget(id);
    await this.db.updateTable('device').set({ inventory, deviceType, inventoryAt: at, updatedAt: at }).where('id', '=', id).execute();
    await this.db.deleteFrom('deviceAttribute').where('deviceId', '=', id).where('scope', '=', 'inventory').execute();
    await this.setAttributes(this.db, id, 'inventory', attributes);
  }

  async attributesOf(deviceId: string): Promise<{ scope: string; name: string; value: string }[]> {
    return this.db.selectFrom('deviceAttribute').select(['scope', 'name', 'value']).where('deviceId', '=', deviceId).execute();
  }

  /** One page of devices matching the filter, oldest first, and how many match in all. */
  async list(filter: DeviceFilter, offset: number, limit: number): Promise<{ devices: DeviceRow[]; total: number }> {
    const query = this.filtered(filter);
    const total = await query.select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
    const devices = await query.selectAll('device').orderBy('createdAt').orderBy('id').offset(offset).limit(limit).execute();
    return { devices, total: Number(total.n) };
  }

  /** Every device matching the filter, with what a deployment needs to choose its targets. */
  async matching(filter: DeviceFilter): Promise<Pick<DeviceRow, 'id' | 'status' | 'deviceType'>[]> {
    return this.filtered(filter).select(['id', 'status', 'deviceType']).orderBy('id').execute();
  }

  /** Stamps when a device was last heard from (callers throttle this). */
  async markSeen(ids: readonly string[], at: string): Promise<void> {
    if (ids.length > 0)
      await this.db
        .updateTable('device')
        .set({ lastSeenAt: at })
        .where('id', 'in', [...ids])
        .execute();
  }

  private filtered(filter: DeviceFilter) {
    let query = this.db.selectFrom('device');
    if (filter.status) query = query.where('status', '=', filter.status);
    const groupId = filter.staticGroupId;
    if (groupId !== undefined) {
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('deviceGroupMember')
            .select('deviceGroupMember.deviceId')
            .whereRef('deviceGroupMember.deviceId', '=', 'device.id')
            .where('deviceGroupMember.groupId', '=', groupId),
        ),
      );
    }
    for (const [name, value] of Object.entries(filter.attributes ?? {})) {
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('deviceAttribute')
            .select('deviceAttribute.name')
            .whereRef('deviceAttribute.deviceId', '=', 'device.id')
            .where('deviceAttribute.name', '=', name)
            .where('deviceAttribute.value', '=', value),
        ),
      );
    }
    return query;
  }

  private async setAttributes(db: Db, deviceId: string, scope: 'identity' | 'inventory', attributes: Readonly<Record<string, string>>) {
    const rows = Object.entries(attributes).map(([name, value]) => ({ deviceId, scope, name, value }));
    if (rows.length > 0) await db.insertInto('deviceAttribute').values(rows).execute();
  }
}

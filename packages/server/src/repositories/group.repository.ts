import type { Kysely } from 'kysely';
import type { Database, DeviceGroupTable } from '../db/schema.js';

export type GroupRow = DeviceGroupTable;

/** Device groups: static ones list their members, dynamic ones keep a saved filter. */
export class GroupRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(group: GroupRow): Promise<void> {
    await this.db.insertInto('deviceGroup').values(group).execute();
  }

  async findByName(name: string): Promise<GroupRow | undefined> {
    return this.db.selectFrom('deviceGroup').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** Every group with its static member count (dynamic groups count on read, elsewhere). */
  async list(): Promise<(GroupRow & { members: number })[]> {
    const rows = await this.db
      .selectFrom('deviceGroup')
      .leftJoin('deviceGroupMember', 'deviceGroupMember.groupId', 'deviceGroup.id')
      .selectAll('deviceGroup')
      .select((eb) => eb.fn.count<string | number>('deviceGroupMember.deviceId').as('members'))
      .groupBy(['deviceGroup.id', 'deviceGroup.name', 'deviceGroup.filter', 'deviceGroup.createdAt', 'deviceGroup.createdBy'])
      .orderBy('deviceGroup.name')
      .execute();
    return rows.map((r) => ({ ...r, members: Number(r.members) }));
  }

  /** Adds the devices that are not members yet; returns how many were added. */
  async addMembers(groupId: string, deviceIds: readonly string[]): Promise<number> {
    if (deviceIds.length === 0) return 0;
    const result = await this.db
      .insertInto('deviceGroupMember')
      .values(deviceIds.map((deviceId) => ({ groupId, deviceId })))
      .onConflict((oc) => oc.columns(['groupId', 'deviceId']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  async removeMembers(groupId: string, deviceIds: readonly string[]): Promise<number> {
    if (deviceIds.length === 0) return 0;
    const result = await this.db
      .deleteFrom('deviceGroupMember')
      .where('groupId', '=', groupId)
      .where('deviceId', 'in', [...deviceIds])
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('deviceGroup').where('id', '=', id).execute();
  }
}

import { randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import type { DeviceStatus } from '../db/schema.js';
import type { DeviceFilter, DeviceRepository } from '../repositories/device.repository.js';
import type { GroupRepository, GroupRow } from '../repositories/group.repository.js';
import type { AuditLog } from './audit-log.service.js';
import { canonicalJson } from './audit-log.service.js';
import type { DeviceService, DeviceSummary } from './device.service.js';
import type { RequestContext } from './user.service.js';

/** A saved filter: a status and attribute values, all of which must match. */
export interface GroupFilter {
  readonly status?: DeviceStatus;
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface GroupSummary {
  readonly id: string;
  readonly name: string;
  readonly kind: 'static' | 'dynamic';
  readonly filter: GroupFilter | null;
  /** Static groups: their member count; dynamic groups: the devices matching now. */
  readonly members: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

export const MAX_MEMBERS_PER_CHANGE = 10_000;

/** Static groups (an explicit member list) and dynamic groups (a saved filter evaluated on read). */
export class GroupService {
  constructor(
    private readonly groups: GroupRepository,
    private readonly devices: DeviceRepository,
    private readonly deviceService: DeviceService,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  async list(): Promise<GroupSummary[]> {
    const rows = await this.groups.list();
    return Promise.all(rows.map(async (row) => this.summary(row, row.members)));
  }

  async create(context: RequestContext, name: string, filter: GroupFilter | undefined): Promise<GroupSummary> {
    if (await this.groups.findByName(name)) throw new SlipwayError('SLW_GROUP_EXISTS', `a group named ${name} exists already`);
    const row: GroupRow = {
      id: randomUUID(),
      name,
      filter: filter ? canonicalJson(filter) : null,
      createdAt: this.now().toISOString(),
      createdBy: context.principal.id,
    };
    try {
      await this.groups.insert(row);
    } catch (err) {
      // Two creations raced; the unique name decided.
      if (await this.groups.findByName(name))
        throw new SlipwayError('SLW_GROUP_EXISTS', `a group named ${name} exists already`, { cause: err });
      throw err;
    }
    await this.audit.appendFor(context, {
      action: 'group.create',
      target: name,
      outcome: 'success',
      details: { kind: filter ? 'dynamic' : 'static', ...(filter ? { filter } : {}) },
    });
    return this.summary(row, 0);
  }

  /** Members of a group, a page at a time: the member list of a static group, the filter's matches for a dynamic one. */
  async members(name: string, page: number, perPage: number): Promise<{ devices: DeviceSummary[]; total: number }> {
    return this.deviceService.list(this.filterOf(await this.require(name)), page, perPage);
  }

  /** Every device in the group now (static members, or the filter's matches), for a deployment to choose from. */
  async devicesIn(name: string): Promise<{ id: string; status: DeviceStatus; deviceType: string | null }[]> {
    return this.devices.matching(this.filterOf(await this.require(name)));
  }

  async change(
    context: RequestContext,
    name: string,
    change: 'add' | 'remove',
    deviceIds: readonly string[],
  ): Promise<{ changed: number }> {
    const group = await this.require(name);
    if (group.filter !== null) throw new SlipwayError('SLW_GROUP_DYNAMIC', `${name} is a dynamic group: its members follow its filter`);
    const unique = [...new Set(deviceIds)];
    const known = new Set(await this.devices.existing(unique));
    const missing = unique.filter((id) => !known.has(id));
    if (change === 'add' && missing.length > 0) throw new SlipwayError('SLW_DEVICE_NOT_FOUND', `no device has the id ${missing[0]}`);
    const changed = change === 'add' ? await this.groups.addMembers(group.id, unique) : await this.groups.removeMembers(group.id, unique);
    await this.audit.appendFor(context, {
      action: `group.${change}`,
      target: name,
      outcome: 'success',
      details: { changed, devices: unique.length <= 20 ? unique : unique.length },
    });
    return { changed };
  }

  async delete(context: RequestContext, name: string): Promise<void> {
    const group = await this.require(name);
    await this.groups.delete(group.id);
    await this.audit.appendFor(context, { action: 'group.delete', target: name, outcome: 'success' });
  }

  private filterOf(group: GroupRow): DeviceFilter {
    return group.filter === null ? { staticGroupId: group.id } : (JSON.parse(group.filter) as GroupFilter);
  }

  private async summary(row: GroupRow, staticMembers: number): Promise<GroupSummary> {
    const filter = row.filter === null ? null : (JSON.parse(row.filter) as GroupFilter);
    const members = filter === null ? staticMembers : (await this.devices.list(filter, 0, 1)).total;
    return {
      id: row.id,
      name: row.name,
      kind: filter ? 'dynamic' : 'static',
      filter,
      members,
      createdAt: row.createdAt,
      createdBy: row.createdBy,
    };
  }

  private async require(name: string): Promise<GroupRow> {
    const group = await this.groups.findByName(name);
    if (!group) throw new SlipwayError('SLW_GROUP_NOT_FOUND', `no group is named ${name.slice(0, 64)}`);
    return group;
  }
}

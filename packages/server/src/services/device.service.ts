import { createHash, randomUUID } from 'node:crypto';
import { canonicalIdentity, SlipwayError } from '@slipway/core';
import type { ServerConfig } from '../config/server-config.js';
import type { DeviceStatus } from '../db/schema.js';
import { type DeviceFilter, type DeviceRepository, type DeviceRow, newDeviceRow } from '../repositories/device.repository.js';
import type { AuditLog } from './audit-log.service.js';
import { canonicalJson } from './audit-log.service.js';
import { parseDeviceKey } from './device-key-policy.js';
import type { RequestContext } from './user.service.js';

export interface DeviceSummary {
  readonly id: string;
  readonly status: DeviceStatus;
  readonly statusBy: string;
  readonly identity: Record<string, string>;
  readonly deviceType: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastAuthAt: string | null;
  readonly inventoryAt: string | null;
}

export interface DeviceDetails extends DeviceSummary {
  readonly inventory: Record<string, string>;
  readonly keys: { keyId: string; state: string; createdAt: string }[];
  readonly authHistory: { at: string; sourceIp: string | null; keyId: string | null; outcome: string; reason: string | null }[];
}

export interface PreauthorizationEntry {
  readonly identity: Record<string, string>;
  readonly publicKey: string;
}

/** The admission decisions an operator makes, and from which statuses each is allowed. */
const TRANSITIONS = {
  accept: { from: ['pending', 'rejected'], to: 'accepted' },
  reject: { from: ['pending'], to: 'rejected' },
  decommission: { from: ['pending', 'accepted', 'rejected', 'preauthorized'], to: 'decommissioned' },
} as const satisfies Record<string, { from: readonly DeviceStatus[]; to: DeviceStatus }>;
export type AdmissionDecision = keyof typeof TRANSITIONS;

const AUTH_HISTORY_SHOWN = 50;
export const PREAUTHORIZE_MAX_ENTRIES = 100_000;

/** Devices as the management API and the device API see them: admission, inventory, listing. */
export class DeviceService {
  constructor(
    private readonly devices: DeviceRepository,
    private readonly audit: AuditLog,
    private readonly config: ServerConfig['devices'],
    private readonly now: () => Date,
  ) {}

  async list(filter: DeviceFilter, page: number, perPage: number): Promise<{ devices: DeviceSummary[]; total: number }> {
    const { devices, total } = await this.devices.list(filter, (page - 1) * perPage, perPage);
    return { devices: devices.map(summary), total };
  }

  async show(id: string): Promise<DeviceDetails> {
    const device = await this.require(id);
    const [keys, history] = await Promise.all([this.devices.keysOf(id), this.devices.authEvents(id, AUTH_HISTORY_SHOWN)]);
    return {
      ...summary(device),
      inventory: device.inventory ? (JSON.parse(device.inventory) as Record<string, string>) : {},
      keys: keys.map((k) => ({ keyId: k.keyId, state: k.state, createdAt: k.createdAt })),
      authHistory: history.map(({ at, sourceIp, keyId, outcome, reason }) => ({ at, sourceIp, keyId, outcome, reason })),
    };
  }

  /** Accept, reject or decommission; decommissioning drops the keys, so the identity must be admitted anew. */
  async decide(context: RequestContext, id: string, decision: AdmissionDecision): Promise<DeviceSummary> {
    const rule = TRANSITIONS[decision];
    const at = this.now().toISOString();
    const device = await this.require(id);
    const moved = await this.devices.transaction(async (tx) => {
      if (!(await tx.transition(id, rule.from, rule.to, context.principal.id, at))) return false;
      if (rule.to === 'decommissioned') await tx.replaceKeys(id, []);
      return true;
    });
    if (!moved) {
      throw new SlipwayError(
        'SLW_DEVICE_STATE',
        `cannot ${decision} a device that is ${device.status} (allowed from: ${rule.from.join(', ')})`,
      );
    }
    await this.audit.appendFor(context, {
      action: `device.${decision}`,
      target: id,
      outcome: 'success',
      details: { from: device.status, identity: JSON.parse(device.identity), ...(decision === 'accept' ? {} : { severity: 'warning' }) },
    });
    return summary((await this.devices.findById(id)) as DeviceRow);
  }

  /**
   * Imports a manufacturing manifest: each identity with its key becomes preauthorized and is
   * accepted on first contact. All or nothing: one bad entry imports none. Entries already
   * registered with the same key are left as they are, so importing a manifest twice is harmless.
   */
  async preauthorize(context: RequestContext, entries: readonly PreauthorizationEntry[]): Promise<{ imported: number; unchanged: number }> {
    if (entries.length === 0) throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', 'the manifest lists no devices');
    const at = this.now().toISOString();
    const parsed = entries.map((entry, i) => {
      try {
        const identity = canonicalIdentity(entry.identity, this.config.identityAttributes);
        return { identity, attributes: entry.identity, key: parseDeviceKey(entry.publicKey, this.config) };
      } catch (err) {
        throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `entry ${i + 1}: ${(err as Error).message}`, { cause: err });
      }
    });
    const seen = new Map<string, number>();
    parsed.forEach((p, i) => {
      for (const key of [`identity ${p.identity}`, `key ${p.key.keyId}`]) {
        const first = seen.get(key);
        if (first !== undefined)
          throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `entry ${i + 1} repeats the ${key.split(' ')[0]} of entry ${first + 1}`);
        seen.set(key, i);
      }
    });
    const result = await this.devices.transaction(async (tx) => {
      let imported = 0;
      let unchanged = 0;
      for (const [i, p] of parsed.entries()) {
        const existing = await tx.findByIdentity(p.identity);
        const owner = await tx.keyOwner(p.key.keyId);
        if (owner && owner !== existing?.id) {
          throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `entry ${i + 1}: its key belongs to another device`);
        }
        const keyRow = { keyId: p.key.keyId, publicKey: p.key.pem, state: 'active' as const, createdAt: at };
        if (!existing) {
          const id = randomUUID();
          await tx.insert(newDeviceRow(id, p.identity, 'preauthorized', context.principal.id, at), p.attributes, [
            { ...keyRow, deviceId: id },
          ]);
          imported++;
        } else if (owner === existing.id && ['preauthorized', 'accepted'].includes(existing.status)) {
          unchanged++;
        } else if (existing.status === 'decommissioned' || (existing.status === 'pending' && owner === existing.id)) {
          await tx.transition(existing.id, [existing.status], 'preauthorized', context.principal.id, at);
          await tx.replaceKeys(existing.id, [{ ...keyRow, deviceId: existing.id }]);
          imported++;
        } else {
          throw new SlipwayError(
            'SLW_DEVICE_MANIFEST_INVALID',
            `entry ${i + 1}: this identity is registered already (${existing.status}) with another key`,
          );
        }
      }
      return { imported, unchanged };
    });
    await this.audit.appendFor(context, {
      action: 'device.preauthorize',
      target: `${entries.length} devices`,
      outcome: 'success',
      details: { ...result, manifestSha256: createHash('sha256').update(canonicalJson(entries)).digest('hex') },
    });
    return result;
  }

  async reportInventory(id: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    const inventory = canonicalJson(attributes);
    const at = this.now().toISOString();
    await this.devices.transaction((tx) => tx.setInventory(id, inventory, attributes.device_type ?? null, attributes, at));
  }

  private async require(id: string): Promise<DeviceRow> {
    const device = DEVICE_ID.test(id) ? await this.devices.findById(id) : undefined;
    if (!device) throw new SlipwayError('SLW_DEVICE_NOT_FOUND', `no device has the id ${id.slice(0, 64)}`);
    return device;
  }
}

/** Device ids are UUIDs: anything else names no device, without asking the database. */
export const DEVICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function summary(d: DeviceRow): DeviceSummary {
  return {
    id: d.id,
    status: d.status,
    statusBy: d.statusBy,
    identity: JSON.parse(d.identity) as Record<string, string>,
    deviceType: d.deviceType,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    lastAuthAt: d.lastAuthAt,
    inventoryAt: d.inventoryAt,
  };
}

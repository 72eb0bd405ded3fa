import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SlipwayError } from '@slipway/core';
import type { Command, CommandContext } from '../cli/command.js';
import { parseCsv } from '../cli/csv.js';
import { callServer } from '../cli/server-client.js';
import type { ServerTarget } from '../cli/server-session.js';
import { TARGET, target } from '../cli/server-target.js';
import { flag, positional, stringList, stringOption, wholeNumber } from '../cli/values.js';
import { WAIT_EXIT } from './deployments.js';

interface DeviceSummary {
  id: string;
  status: string;
  identity: Record<string, string>;
  deviceType: string | null;
  lastAuthAt: string | null;
  updatedAt: string;
  inventoryAt: string | null;
}

const identityText = (identity: Record<string, string>) =>
  Object.entries(identity)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** `NAME=VALUE` pairs from repeated --attr options. */
export function attributePairs(values: readonly string[], option: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at < 1) throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--${option} ${value}: use NAME=VALUE`);
    pairs[value.slice(0, at)] = value.slice(at + 1);
  }
  return pairs;
}

function integerOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,6}$/.test(value))
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--${option} ${value}: use a positive whole number`);
  return Number(value);
}

export const devicesList: Command = {
  path: ['devices', 'list'],
  summary: 'List devices, filtered by status and attributes, a page at a time',
  options: {
    ...TARGET,
    status: { type: 'string', value: 'S', description: 'pending, accepted, rejected, decommissioned or preauthorized' },
    attr: { type: 'string', multiple: true, value: 'NAME=VALUE', description: 'identity or inventory attribute to match (repeatable)' },
    page: { type: 'string', value: 'N', description: 'page number (default 1)' },
    'per-page': { type: 'string', value: 'N', description: 'devices per page, at most 500 (default 50)' },
    ids: { type: 'boolean', description: 'print only the device ids, one per line (for $(...) in scripts)' },
  },
  async run(ctx) {
    const query = new URLSearchParams();
    const status = stringOption(ctx, 'status');
    if (status) query.set('status', status);
    for (const [name, value] of Object.entries(attributePairs(stringList(ctx, 'attr'), 'attr'))) query.set(`attr.${name}`, value);
    const page = integerOption(stringOption(ctx, 'page'), 'page');
    const perPage = integerOption(stringOption(ctx, 'per-page'), 'per-page');
    if (page) query.set('page', String(page));
    if (perPage) query.set('perPage', String(perPage));
    const found = (await callServer(await target(ctx), 'GET', `/devices?${query}`)) as {
      devices: DeviceSummary[];
      total: number;
      page: number;
      perPage: number;
    };
    for (const d of found.devices) {
      ctx.out.line(
        flag(ctx, 'ids') ? d.id : `${d.id}  ${d.status.padEnd(14)} ${(d.deviceType ?? '-').padEnd(16)} ${identityText(d.identity)}`,
      );
    }
    if (!flag(ctx, 'ids')) ctx.out.note(`page ${found.page}: ${found.devices.length} of ${found.total} devices`);
    ctx.out.data(found);
    return 0;
  },
};

export const devicesShow: Command = {
  path: ['devices', 'show'],
  summary: 'Show one device: identity, status, keys, inventory and authentication history',
  positionals: [{ name: 'ID', description: 'the device id from devices list' }],
  options: TARGET,
  async run(ctx) {
    const id = positional(ctx, 0, 'ID');
    const d = (await callServer(await target(ctx), 'GET', `/devices/${encodeURIComponent(id)}`)) as DeviceSummary & {
      statusBy: string;
      inventory: Record<string, string>;
      keys: { keyId: string; state: string }[];
      authHistory: { at: string; sourceIp: string | null; outcome: string; reason: string | null }[];
    };
    ctx.out.line(`device    ${d.id}`);
    ctx.out.line(`identity  ${identityText(d.identity)}`);
    ctx.out.line(`status    ${d.status} (by ${d.statusBy})`);
    for (const k of d.keys) ctx.out.line(`key       ${k.keyId} ${k.state}`);
    for (const [name, value] of Object.entries(d.inventory)) ctx.out.line(`inventory ${name}=${value}`);
    for (const e of d.authHistory)
      ctx.out.line(`auth      ${e.at} ${e.outcome}${e.sourceIp ? ` from ${e.sourceIp}` : ''}${e.reason ? `: ${e.reason}` : ''}`);
    ctx.out.data(d);
    return 0;
  },
};

function decision(name: 'accept' | 'reject' | 'decommission', summary: string, extraOptions: Command['options'] = {}): Command {
  return {
    path: ['devices', name],
    summary,
    positionals: [{ name: 'ID...', description: 'one or more device ids', variadic: true }],
    options: { ...TARGET, ...extraOptions },
    async run(ctx) {
      if (ctx.positionals.length === 0) throw new SlipwayError('SLW_USAGE_MISSING_OPTION', 'missing ID');
      const server = await target(ctx);
      const done: DeviceSummary[] = [];
      for (const id of ctx.positionals) {
        const device = (await callServer(server, 'POST', `/devices/${encodeURIComponent(id)}/${name}`)) as DeviceSummary;
        ctx.out.line(`${device.id} ${device.status}`);
        done.push(device);
      }
      ctx.out.data(done);
      return flag(ctx, 'wait') ? waitUntilCalledIn(ctx, server, done) : 0;
    },
  };
}

/**
 * `devices accept --wait`: polls until every accepted device has called in again and reported
 * its inventory (so its device type is known and deployments can target it). Exit 6 at --timeout.
 */
async function waitUntilCalledIn(ctx: CommandContext, server: ServerTarget, accepted: readonly DeviceSummary[]): Promise<number> {
  const timeoutOption = stringOption(ctx, 'timeout');
  const deadline =
    timeoutOption === undefined ? Number.POSITIVE_INFINITY : Date.now() + wholeNumber(timeoutOption, 'timeout', 0, 1, 30 * 86_400) * 1000;
  const waiting = new Map(accepted.map((d) => [d.id, d.updatedAt]));
  ctx.out.note(`waiting for ${waiting.size} device(s) to call in with their inventory`);
  for (;;) {
    for (const [id, acceptedAt] of waiting) {
      const d = (await callServer(server, 'GET', `/devices/${encodeURIComponent(id)}`)) as DeviceSummary;
      if (d.status !== 'accepted') throw new SlipwayError('SLW_DEVICE_NOT_ACCEPTED', `${id} is ${d.status} now, no longer accepted`);
      if (d.inventoryAt !== null && d.inventoryAt >= acceptedAt && d.deviceType !== null) {
        ctx.out.note(`${id} called in: device type ${d.deviceType}`);
        waiting.delete(id);
      }
    }
    if (waiting.size === 0) return 0;
    if (Date.now() + WAIT_POLL_MS > deadline) {
      ctx.out.note(`stopped waiting after --timeout ${timeoutOption}s; not called in yet: ${[...waiting.keys()].join(', ')}`);
      // As `deployments create --wait`: 6 means "stopped waiting", not "failed".
      return WAIT_EXIT.timeout;
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}

const WAIT_POLL_MS = 1000;

export const devicesAccept = decision('accept', 'Admit pending (or rejected) devices', {
  wait: { type: 'boolean', description: 'then wait until each device called in with its inventory (its device type is known)' },
  timeout: { type: 'string', value: 'SECONDS', description: 'with --wait: give up waiting after this long (exit 6); default: no limit' },
});
export const devicesReject = decision('reject', 'Reject pending devices: they may not authenticate');
export const devicesDecommission = decision(
  'decommission',
  'Lock devices out at once: their keys and tokens stop working, and they must be admitted anew',
);

interface ManifestEntry {
  identity: Record<string, string>;
  publicKey: string;
}

/**
 * A manufacturing manifest: JSON (`{"devices":[{"identity":{…},"publicKey":"PEM"}]}` or the bare
 * array, as `slipway provision` writes it) or CSV with a header row: identity attribute columns
 * plus `public_key` (the PEM) or `public_key_file` (a path relative to the manifest).
 */
export async function readManifest(file: string): Promise<ManifestEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SlipwayError('SLW_IO_NOT_FOUND', `${file} cannot be read`, { cause: err });
  }
  if (/^\s*[[{]/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file} is not valid JSON`, { cause: err });
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { devices?: unknown }).devices;
    if (!Array.isArray(list)) throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file}: expected {"devices": [...]}`);
    return list.map((entry, i) => {
      const e = entry as Partial<ManifestEntry>;
      if (typeof e?.identity !== 'object' || e.identity === null || typeof e.publicKey !== 'string') {
        throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file} entry ${i + 1}: needs identity and publicKey`);
      }
      return { identity: e.identity, publicKey: e.publicKey };
    });
  }
  const [header, ...rows] = parseCsv(text, 'SLW_DEVICE_MANIFEST_INVALID');
  if (!header) throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file} is empty`);
  const keyColumn = header.indexOf('public_key');
  const fileColumn = header.indexOf('public_key_file');
  if (keyColumn < 0 === fileColumn < 0) {
    throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file}: the header needs exactly one of public_key and public_key_file`);
  }
  const entries: ManifestEntry[] = [];
  for (const [i, row] of rows.entries()) {
    if (row.length !== header.length) {
      throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file} row ${i + 2}: ${row.length} fields, the header has ${header.length}`);
    }
    const identity: Record<string, string> = {};
    header.forEach((name, c) => {
      if (c !== keyColumn && c !== fileColumn) identity[name] = row[c] as string;
    });
    let publicKey = keyColumn >= 0 ? (row[keyColumn] as string) : '';
    if (fileColumn >= 0) {
      const keyFile = resolve(dirname(file), row[fileColumn] as string);
      try {
        publicKey = await readFile(keyFile, 'utf8');
      } catch (err) {
        throw new SlipwayError('SLW_DEVICE_MANIFEST_INVALID', `${file} row ${i + 2}: ${keyFile} cannot be read`, { cause: err });
      }
    }
    entries.push({ identity, publicKey });
  }
  return entries;
}

export const devicesPreauthorize: Command = {
  path: ['devices', 'preauthorize'],
  summary: 'Import a manufacturing manifest: listed devices are accepted at first contact',
  positionals: [{ name: 'MANIFEST', description: 'JSON (as slipway provision writes it) or CSV' }],
  options: TARGET,
  notes: [
    'CSV: a header row of identity attribute names plus public_key (PEM, quoted) or public_key_file',
    '(a path relative to the manifest). All or nothing: one bad entry imports none.',
  ],
  async run(ctx) {
    const entries = await readManifest(positional(ctx, 0, 'MANIFEST'));
    const result = (await callServer(await target(ctx), 'POST', '/devices/preauthorize', { devices: entries })) as {
      imported: number;
      unchanged: number;
    };
    ctx.out.line(`preauthorized ${result.imported} devices (${result.unchanged} already known with the same key)`);
    ctx.out.data(result);
    return 0;
  },
};

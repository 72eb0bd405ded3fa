import { SlipwayError } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { callServer } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { positional, stringOption } from '../cli/values.js';

interface GroupSummary {
  name: string;
  kind: string;
  filter: { status?: string; attributes?: Record<string, string> } | null;
  members: number;
}

/** `status=accepted,device_type=gw-1` → a saved filter: `status` is the admission status, anything else an attribute. */
export function parseFilter(text: string): { status?: string; attributes?: Record<string, string> } {
  const filter: { status?: string; attributes?: Record<string, string> } = {};
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at < 1) throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--filter ${text}: use NAME=VALUE,NAME=VALUE`);
    const name = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (name === 'status') filter.status = value;
    else filter.attributes = { ...filter.attributes, [name]: value };
  }
  return filter;
}

const filterText = (f: GroupSummary['filter']) =>
  f === null
    ? ''
    : [...(f.status ? [`status=${f.status}`] : []), ...Object.entries(f.attributes ?? {}).map(([k, v]) => `${k}=${v}`)].join(',');

export const groupsList: Command = {
  path: ['groups', 'list'],
  summary: 'List device groups: static ones with their member count, dynamic ones with their filter',
  options: TARGET,
  async run(ctx) {
    const groups = (await callServer(await target(ctx), 'GET', '/groups')) as GroupSummary[];
    for (const g of groups)
      ctx.out.line(`${g.name.padEnd(24)} ${g.kind.padEnd(8)} ${String(g.members).padStart(7)} devices ${filterText(g.filter)}`);
    ctx.out.data(groups);
    return 0;
  },
};

export const groupsCreate: Command = {
  path: ['groups', 'create'],
  summary: 'Create a static group, or with --filter a dynamic one (its members follow the filter)',
  positionals: [{ name: 'NAME', description: 'lower-case letters, digits, . _ -' }],
  options: {
    ...TARGET,
    filter: {
      type: 'string',
      value: 'NAME=VALUE,…',
      description: 'dynamic group: status and attributes to match, e.g. status=accepted,device_type=gw',
    },
  },
  async run(ctx) {
    const name = positional(ctx, 0, 'NAME');
    const filter = stringOption(ctx, 'filter');
    const group = (await callServer(await target(ctx), 'POST', '/groups', {
      name,
      ...(filter ? { filter: parseFilter(filter) } : {}),
    })) as GroupSummary;
    ctx.out.line(
      `created ${group.kind} group ${group.name}${group.filter ? ` (${filterText(group.filter)}: ${group.members} devices now)` : ''}`,
    );
    ctx.out.data(group);
    return 0;
  },
};

function membership(change: 'add' | 'remove'): Command {
  return {
    path: ['groups', change],
    summary: change === 'add' ? 'Add devices to a static group' : 'Remove devices from a static group',
    positionals: [
      { name: 'GROUP', description: 'the group' },
      { name: 'ID...', description: 'one or more device ids', variadic: true },
    ],
    options: TARGET,
    async run(ctx) {
      const group = positional(ctx, 0, 'GROUP');
      const deviceIds = ctx.positionals.slice(1);
      if (deviceIds.length === 0) throw new SlipwayError('SLW_USAGE_MISSING_OPTION', 'missing device ID');
      const result = (await callServer(await target(ctx), 'POST', `/groups/${encodeURIComponent(group)}/${change}`, { deviceIds })) as {
        changed: number;
      };
      ctx.out.line(`${change === 'add' ? 'added' : 'removed'} ${result.changed} devices`);
      ctx.out.data(result);
      return 0;
    },
  };
}

export const groupsAdd = membership('add');
export const groupsRemove = membership('remove');

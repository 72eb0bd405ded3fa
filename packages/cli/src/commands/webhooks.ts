import type { Command } from '../cli/command.js';
import { callServer } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { positional, requiredString, stringList } from '../cli/values.js';

interface Webhook {
  id: string;
  name: string;
  url: string;
  events: string[];
}

export const webhooksCreate: Command = {
  path: ['webhooks', 'create'],
  summary: 'Subscribe a URL to events; deliveries are signed with a secret shown once, here',
  positionals: [{ name: 'NAME', description: 'lower-case letters, digits, . _ -' }],
  options: {
    ...TARGET,
    url: { type: 'string', value: 'URL', required: true, description: 'where deliveries are POSTed (http or https)' },
    event: {
      type: 'string',
      multiple: true,
      value: 'TYPE',
      required: true,
      description: 'event type or pattern, e.g. security.* (repeatable)',
    },
  },
  notes: ['Receivers check x-slipway-signature: sha256=HMAC-SHA256(secret, "<x-slipway-timestamp>.<body>").'],
  async run(ctx) {
    const created = (await callServer(await target(ctx), 'POST', '/webhooks', {
      name: positional(ctx, 0, 'NAME'),
      url: requiredString(ctx, 'url'),
      events: stringList(ctx, 'event'),
    })) as Webhook & { secret: string };
    ctx.out.line(created.secret);
    ctx.out.note(`webhook ${created.name} -> ${created.url} (${created.events.join(', ')}): store the secret now, it is not shown again`);
    ctx.out.data(created);
    return 0;
  },
};

export const webhooksList: Command = {
  path: ['webhooks', 'list'],
  summary: 'List webhooks (never their secrets)',
  options: TARGET,
  async run(ctx) {
    const hooks = (await callServer(await target(ctx), 'GET', '/webhooks')) as Webhook[];
    for (const h of hooks) ctx.out.line(`${h.name.padEnd(24)} ${h.url}  ${h.events.join(',')}`);
    ctx.out.data(hooks);
    return 0;
  },
};

export const webhooksDelete: Command = {
  path: ['webhooks', 'delete'],
  summary: 'Delete a webhook and its pending deliveries',
  positionals: [{ name: 'NAME', description: 'the webhook' }],
  options: TARGET,
  async run(ctx) {
    const name = positional(ctx, 0, 'NAME');
    await callServer(await target(ctx), 'DELETE', `/webhooks/${encodeURIComponent(name)}`);
    ctx.out.line(`deleted ${name}`);
    ctx.out.data({ name, deleted: true });
    return 0;
  },
};

export const webhooksDeliveries: Command = {
  path: ['webhooks', 'deliveries'],
  summary: "A webhook's latest deliveries: status, attempts, the receiver's last answer",
  positionals: [{ name: 'NAME', description: 'the webhook' }],
  options: TARGET,
  async run(ctx) {
    const list = (await callServer(await target(ctx), 'GET', `/webhooks/${encodeURIComponent(positional(ctx, 0, 'NAME'))}/deliveries`)) as {
      eventType: string;
      status: string;
      attempts: number;
      lastStatus: number | null;
      lastError: string | null;
      createdAt: string;
    }[];
    for (const d of list) {
      ctx.out.line(
        `${d.createdAt}  ${d.eventType.padEnd(32)} ${d.status.padEnd(10)} ${d.attempts} attempt(s)${d.lastStatus ? ` HTTP ${d.lastStatus}` : ''}${d.lastError && !d.lastStatus ? ` ${d.lastError}` : ''}`,
      );
    }
    ctx.out.data(list);
    return 0;
  },
};

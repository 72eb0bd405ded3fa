import { SlipwayError, writeFileAtomic } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { csvField } from '../cli/csv.js';
import { parseExpiry } from '../cli/durations.js';
import { callServer } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { positional, requiredString, stringOption } from '../cli/values.js';
import { passwordFromStdin } from './server-login.js';

interface UserListing {
  username: string;
  role: string;
  disabledAt: string | null;
}
interface TokenListing {
  id: string;
  name: string;
  role: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export const usersList: Command = {
  path: ['users', 'list'],
  summary: 'List users and their roles',
  options: TARGET,
  async run(ctx) {
    const users = (await callServer(await target(ctx), 'GET', '/users')) as UserListing[];
    for (const u of users)
      ctx.out.line(`${u.username.padEnd(24)} ${u.role.padEnd(16)} ${u.disabledAt ? `disabled ${u.disabledAt}` : 'active'}`);
    ctx.out.data(users);
    return 0;
  },
};

export const usersCreate: Command = {
  path: ['users', 'create'],
  summary: 'Create a user with a role; the password is read from standard input',
  options: {
    ...TARGET,
    username: { type: 'string', value: 'U', required: true, description: 'lower-case letters, digits, . _ -' },
    role: { type: 'string', value: 'R', required: true, description: 'admin, release-manager, operator, ci or viewer' },
    'password-stdin': { type: 'boolean', description: 'read the new password (12+ characters) from standard input' },
  },
  async run(ctx) {
    const password = await passwordFromStdin(ctx.readStdin);
    const user = (await callServer(await target(ctx), 'POST', '/users', {
      username: requiredString(ctx, 'username'),
      password,
      role: requiredString(ctx, 'role'),
    })) as UserListing;
    ctx.out.line(`created ${user.username} (${user.role})`);
    ctx.out.data(user);
    return 0;
  },
};

export const usersSetRole: Command = {
  path: ['users', 'set-role'],
  summary: "Change a user's role (takes effect on their next request)",
  positionals: [{ name: 'USERNAME', description: 'the user' }],
  options: { ...TARGET, role: { type: 'string', value: 'R', required: true, description: 'the new role' } },
  async run(ctx) {
    const username = positional(ctx, 0, 'USERNAME');
    await callServer(await target(ctx), 'PUT', `/users/${encodeURIComponent(username)}/role`, { role: requiredString(ctx, 'role') });
    ctx.out.line(`${username} is now ${requiredString(ctx, 'role')}`);
    ctx.out.data({ username, role: requiredString(ctx, 'role') });
    return 0;
  },
};

export const usersDisable: Command = {
  path: ['users', 'disable'],
  summary: 'Disable a user and end all their sessions at once',
  positionals: [{ name: 'USERNAME', description: 'the user' }],
  options: TARGET,
  async run(ctx) {
    const username = positional(ctx, 0, 'USERNAME');
    await callServer(await target(ctx), 'POST', `/users/${encodeURIComponent(username)}/disable`);
    ctx.out.line(`${username} is disabled`);
    ctx.out.data({ username, disabled: true });
    return 0;
  },
};

export const tokensCreate: Command = {
  path: ['tokens', 'create'],
  summary: 'Create an API token for CI; it is shown once, here',
  options: {
    ...TARGET,
    name: { type: 'string', value: 'N', required: true, description: 'what it is for, e.g. ci-nightly' },
    role: { type: 'string', value: 'R', required: true, description: 'its role, e.g. ci' },
    expires: { type: 'string', value: 'DURATION|TIME', description: 'e.g. 30d or 2027-06-30T00:00:00Z (default: never)' },
  },
  notes: ['With --json it prints {"token": ...} and the token facts.'],
  async run(ctx) {
    const expires = stringOption(ctx, 'expires');
    const body = {
      name: requiredString(ctx, 'name'),
      role: requiredString(ctx, 'role'),
      ...(expires ? { expiresAt: parseExpiry(expires, ctx.now, '--expires').toISOString() } : {}),
    };
    const created = (await callServer(await target(ctx), 'POST', '/tokens', body)) as TokenListing & { token: string };
    ctx.out.line(created.token);
    ctx.out.note(
      `token ${created.id} (${created.name}, ${created.role}${created.expiresAt ? `, expires ${created.expiresAt}` : ''}): store it now, it is not shown again`,
    );
    ctx.out.data(created);
    return 0;
  },
};

export const tokensList: Command = {
  path: ['tokens', 'list'],
  summary: 'List API tokens (never their secrets)',
  options: TARGET,
  async run(ctx) {
    const tokens = (await callServer(await target(ctx), 'GET', '/tokens')) as TokenListing[];
    for (const t of tokens) {
      ctx.out.line(
        `${t.id}  ${t.name.padEnd(20)} ${t.role.padEnd(16)} ${t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry'}`,
      );
    }
    ctx.out.data(tokens);
    return 0;
  },
};

export const tokensRevoke: Command = {
  path: ['tokens', 'revoke'],
  summary: 'Revoke an API token (takes effect on its next request)',
  positionals: [{ name: 'ID', description: 'the token id from tokens list' }],
  options: TARGET,
  async run(ctx) {
    const id = positional(ctx, 0, 'ID');
    await callServer(await target(ctx), 'DELETE', `/tokens/${encodeURIComponent(id)}`);
    ctx.out.line(`revoked ${id}`);
    ctx.out.data({ id, revoked: true });
    return 0;
  },
};

export const auditVerify: Command = {
  path: ['audit', 'verify'],
  summary: "Verify the server's hash-chained audit log; exit 0 only when it is intact",
  options: TARGET,
  async run(ctx) {
    const verdict = (await callServer(await target(ctx), 'GET', '/audit/verify')) as
      | { ok: true; entries: number; headSeq: number; headHash: string }
      | { ok: false; entries: number; firstBadSeq: number; reason: string };
    if (!verdict.ok) {
      throw new SlipwayError(
        'SLW_AUDIT_CHAIN_BROKEN',
        `${verdict.reason} (first bad entry ${verdict.firstBadSeq}; ${verdict.entries} verified before it)`,
      );
    }
    ctx.out.line(`OK: ${verdict.entries} entries, head ${verdict.headSeq} ${verdict.headHash}`);
    ctx.out.data(verdict);
    return 0;
  },
};

interface AuditEntry {
  seq: number;
  at: string;
  actorType: string;
  actorId: string | null;
  sourceIp: string | null;
  action: string;
  target: string | null;
  outcome: string;
  details: string | null;
  prevHash: string;
  hash: string;
}

const CSV_COLUMNS: readonly (keyof AuditEntry)[] = [
  'seq',
  'at',
  'actorType',
  'actorId',
  'sourceIp',
  'action',
  'target',
  'outcome',
  'details',
  'prevHash',
  'hash',
];

export const auditExport: Command = {
  path: ['audit', 'export'],
  summary: 'Export the whole audit log, with its hashes, as JSON or CSV (to keep an anchor outside the server)',
  options: {
    ...TARGET,
    format: { type: 'string', value: 'json|csv', description: 'output format (default json)' },
    out: { type: 'string', value: 'FILE', description: 'write to FILE (0600) instead of standard output' },
  },
  async run(ctx) {
    const format = stringOption(ctx, 'format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--format ${format}: use json or csv`);
    const server = await target(ctx);
    const entries: AuditEntry[] = [];
    for (let after: number | null = 0; after !== null; ) {
      const page = (await callServer(server, 'GET', `/audit/entries?after=${after}&limit=1000`)) as {
        entries: AuditEntry[];
        next: number | null;
      };
      entries.push(...page.entries);
      after = page.next;
    }
    const text =
      format === 'json'
        ? `${JSON.stringify(entries, null, 2)}\n`
        : `${[CSV_COLUMNS.join(','), ...entries.map((e) => CSV_COLUMNS.map((c) => csvField(e[c])).join(','))].join('\n')}\n`;
    const out = stringOption(ctx, 'out');
    if (out === undefined) ctx.out.raw(text);
    else {
      await writeFileAtomic(out, text, { mode: 0o600 });
      ctx.out.note(`wrote ${entries.length} entries to ${out}`);
    }
    return 0;
  },
};

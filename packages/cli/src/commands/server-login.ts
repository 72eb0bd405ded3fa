import { resolve } from 'node:path';
import { SlipwayError } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { callServer } from '../cli/server-client.js';
import { forgetSession, resolveTarget, saveSession } from '../cli/server-session.js';
import { flag, requiredString, stringOption } from '../cli/values.js';

/** Reads a password from stdin: the first line, without its newline. */
export async function passwordFromStdin(readStdin: () => Promise<string>): Promise<string> {
  const password = (await readStdin()).split(/\r?\n/)[0] ?? '';
  if (password === '') throw new SlipwayError('SLW_USAGE_MISSING_OPTION', '--password-stdin: standard input is empty');
  return password;
}

export const login: Command = {
  path: ['login'],
  summary: 'Log in to a Slipway server; the session is kept in ~/.config/slipway (mode 0600)',
  options: {
    server: { type: 'string', value: 'URL', required: true, description: 'e.g. https://updates.example.com:8443' },
    username: { type: 'string', value: 'U', required: true, description: 'user name' },
    'password-stdin': { type: 'boolean', description: 'read the password from standard input (required: never a flag)' },
    ca: { type: 'string', value: 'FILE', description: "CA certificate that pins the server (the server's DATA/tls/ca.pem)" },
  },
  notes: ['SLIPWAY_SERVER, SLIPWAY_TOKEN and SLIPWAY_CA override the saved session (for CI).'],
  async run(ctx) {
    if (!flag(ctx, 'password-stdin'))
      throw new SlipwayError('SLW_USAGE_MISSING_OPTION', '--password-stdin is required: passwords are never taken from flags');
    const server = requiredString(ctx, 'server');
    const caOption = stringOption(ctx, 'ca');
    const target = await resolveTarget(ctx.env, { server, ca: caOption });
    const password = await passwordFromStdin(ctx.readStdin);
    const answer = (await callServer(
      target,
      'POST',
      '/auth/login',
      { username: requiredString(ctx, 'username'), password },
      { auth: false },
    )) as {
      token: string;
      expiresAt: string;
      username: string;
      role: string;
    };
    const path = await saveSession(ctx.env, {
      server,
      token: answer.token,
      caFile: target.caFile === undefined ? null : resolve(target.caFile),
    });
    ctx.out.line(
      `logged in to ${server} as ${answer.username} (${answer.role}); session saved in ${path}, valid until ${answer.expiresAt}`,
    );
    ctx.out.data({ server, username: answer.username, role: answer.role, expiresAt: answer.expiresAt, sessionFile: path });
    return 0;
  },
};

export const logout: Command = {
  path: ['logout'],
  summary: 'End the saved session on the server and forget it here',
  options: {},
  async run(ctx) {
    const target = await resolveTarget(ctx.env, {});
    if (target.token !== undefined) await callServer(target, 'POST', '/auth/logout').catch(() => undefined);
    await forgetSession(ctx.env);
    ctx.out.line(`logged out of ${target.server}`);
    ctx.out.data({ server: target.server, loggedOut: true });
    return 0;
  },
};

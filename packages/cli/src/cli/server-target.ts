import type { CommandContext, OptionSpec } from './command.js';
import { resolveTarget, type ServerTarget } from './server-session.js';
import { stringOption } from './values.js';

/** --server and --ca on every server command: they override SLIPWAY_* and the saved session. */
export const TARGET: Record<string, OptionSpec> = {
  server: { type: 'string', value: 'URL', description: 'server (default: SLIPWAY_SERVER, then the saved session)' },
  ca: { type: 'string', value: 'FILE', description: 'CA that pins the server (default: SLIPWAY_CA, then the saved session)' },
};

/** The server a command talks to, and the credentials it uses there. */
export function target(ctx: CommandContext): Promise<ServerTarget> {
  return resolveTarget(ctx.env, { server: stringOption(ctx, 'server'), ca: stringOption(ctx, 'ca') });
}

import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The only module of the CLI that reads process.env: everything else receives these values.
 */
export interface CliEnvironment {
  /** Passphrase for encrypted private keys (never taken from a flag: flags leak into shell history). */
  readonly keyPassphrase: string | undefined;
  readonly debug: boolean;
  /** The whole environment, handed untouched to `slipway server`, which reads its own SLIPWAY_* settings. */
  readonly serverEnv: Readonly<Record<string, string | undefined>>;
  /** SLIPWAY_SERVER, SLIPWAY_TOKEN, SLIPWAY_CA: override the saved session (for CI). */
  readonly server: string | undefined;
  readonly token: string | undefined;
  readonly ca: string | undefined;
  /** Where `slipway login` keeps the session: $XDG_CONFIG_HOME/slipway or ~/.config/slipway. */
  readonly configDir: string;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  return {
    keyPassphrase: env.SLIPWAY_KEY_PASSPHRASE,
    debug: env.SLIPWAY_DEBUG === '1',
    serverEnv: env,
    server: env.SLIPWAY_SERVER || undefined,
    token: env.SLIPWAY_TOKEN || undefined,
    ca: env.SLIPWAY_CA || undefined,
    configDir: join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'slipway'),
  };
}

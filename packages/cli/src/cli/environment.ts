/**
 * The only module of the CLI that reads process.env: everything else receives these values.
 */
export interface CliEnvironment {
  /** Passphrase for encrypted private keys (never taken from a flag: flags leak into shell history). */
  readonly keyPassphrase: string | undefined;
  readonly debug: boolean;
  /** The whole environment, handed untouched to `slipway server`, which reads its own SLIPWAY_* settings. */
  readonly serverEnv: Readonly<Record<string, string | undefined>>;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  return {
    keyPassphrase: env.SLIPWAY_KEY_PASSPHRASE,
    debug: env.SLIPWAY_DEBUG === '1',
    serverEnv: env,
  };
}

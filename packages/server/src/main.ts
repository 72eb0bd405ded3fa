import { parseArgs } from 'node:util';
import { isSlipwayError, SlipwayError } from '@slipway/core';
import { loadServerConfig } from './config/load-server-config.js';
import { redactConfig } from './config/redact-config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';
import { rotateServerSecrets } from './services/rotate-secrets.js';

export const SERVER_USAGE = `Usage: slipway server [--config FILE] [--data DIR] [--listen HOST:PORT] [options]

Runs the Slipway update server: HTTPS (a local CA issues its certificate on first start), SQLite in
the data directory unless a PostgreSQL URL is given.

Options:
  --config FILE            JSON config file (see docs/operations.md); SLIPWAY_* variables and flags override it
  --data DIR               data directory (default ./slipway-data)
  --listen HOST:PORT       address to listen on (default 0.0.0.0:8443)
  --database URL           postgres://... instead of SQLite (also SLIPWAY_DATABASE_URL)
  --behind-proxy           plain HTTP for a TLS-terminating reverse proxy in front
  --print-config           print the effective configuration (secrets redacted) as JSON and exit
  --rotate-secrets         replace the server's own secrets (device token and download link keys) and exit:
                           tokens and links issued before stop working; devices authenticate again by themselves
  --json                   on failure, also print {"error":{"code","message"}} on stdout (logs are JSON lines already)
  --help                   show this help

The first start creates user admin with SLIPWAY_ADMIN_PASSWORD, or a random password written to
DATA/initial-admin-password (mode 0600).
`;

export interface MainIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** The only module of the server that reads process.env: everything else receives values. */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: MainIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        data: { type: 'string' },
        listen: { type: 'string' },
        database: { type: 'string' },
        'behind-proxy': { type: 'boolean' },
        'print-config': { type: 'boolean' },
        'rotate-secrets': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : 'invalid arguments';
    io.stderr.write(`SLW_USAGE_INVALID_OPTION: ${message} (see slipway server --help)\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(SERVER_USAGE);
    return 0;
  }
  try {
    const config = await loadServerConfig(
      {
        configFile: values.config as string | undefined,
        dataDir: values.data as string | undefined,
        listen: values.listen as string | undefined,
        databaseUrl: values.database as string | undefined,
        behindProxy: values['behind-proxy'] as boolean | undefined,
      },
      env,
    );
    if (values['print-config']) {
      io.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
      return 0;
    }
    if (values['rotate-secrets']) {
      const rotated = await rotateServerSecrets(config);
      io.stdout.write(
        `rotated ${rotated.length} server secret(s)${rotated.length ? ` (${rotated.join(', ')})` : ''}: device tokens and download links issued before no longer work; start (or restart) every server process on this database\n`,
      );
      return 0;
    }
    const logger = createLogger(config.log.level);
    const server = await startServer(config, { logger, adminPassword: env.SLIPWAY_ADMIN_PASSWORD });
    await waitForSignal();
    logger.info('shutting down');
    const grace = setTimeout(() => {
      logger.warn({ graceSeconds: config.shutdownGraceSeconds }, 'requests still running after the grace period; closing anyway');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    grace.unref();
    await server.close();
    logger.info('stopped');
    return 0;
  } catch (err) {
    const coded = isSlipwayError(err) ? err : new SlipwayError('SLW_INTERNAL_ERROR', 'unexpected error (set SLIPWAY_DEBUG=1 for details)');
    if (!isSlipwayError(err) && env.SLIPWAY_DEBUG === '1') io.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    io.stderr.write(`${coded.toLine()}\n`);
    if (values.json) io.stdout.write(`${JSON.stringify({ error: { code: coded.code, message: coded.message } })}\n`);
    return coded.code.startsWith('SLW_CONFIG_') || coded.code.startsWith('SLW_USAGE_') ? 2 : 1;
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

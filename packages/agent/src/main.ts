import { parseArgs } from 'node:util';
import { SlipwayError } from '@slipway/core';
import { commitStandalone, installStandalone, rollbackStandalone, type StandaloneResult } from './commands/standalone.js';
import { agentStatus, printStatus } from './commands/status.js';
import { DEFAULT_CONFIG_FILE, loadAgentConfig } from './config/agent-config.js';
import { AgentDaemon } from './daemon/agent-daemon.js';
import { acquireAgentLock } from './runtime/agent-lock.js';
import { createRuntime } from './runtime/agent-runtime.js';
import { AGENT_VERSION } from './version.js';

const USAGE = `usage: slipway-agent [--config FILE] [--once]        run the agent (the daemon)
       slipway-agent install A.slw|URL [--config FILE] [--ca FILE] [--reboot]
       slipway-agent status [--config FILE] [--json]
       slipway-agent commit [--config FILE] [--reboot]
       slipway-agent rollback [--config FILE] [--reboot]
       slipway-agent --version

  --config FILE   the agent's config (default $SLIPWAY_AGENT_CONFIG or ${DEFAULT_CONFIG_FILE})
  --once          one round: finish an interrupted update, report, ask for a deployment, run it, exit
  --ca FILE       CA that an https:// URL to install must chain to (default: the server CA)
  --reboot        run the reboot command when a reboot is due (default: say so and exit)
  --json          print machine-readable output
`;

const COMMANDS = new Set(['install', 'status', 'commit', 'rollback']);

/** Exit codes: 0 done (or waiting for the reboot it asked for), 1 failed, 2 usage, 3 rolled back. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`SLW_USAGE_INVALID_OPTION: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`slipway-agent ${AGENT_VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (command !== undefined && !COMMANDS.has(command)) return usage(`unknown command ${command}`);
  if (command === 'install' ? rest.length !== 1 : rest.length !== 0) return usage(`unexpected arguments: ${rest.join(' ') || 'none'}`);

  const log = (line: string) => process.stdout.write(`${line}\n`);
  const quiet = () => {};
  try {
    const config = await loadAgentConfig(values.config ?? process.env.SLIPWAY_AGENT_CONFIG ?? DEFAULT_CONFIG_FILE);
    const runtime = await createRuntime(config, values.json ? quiet : log);
    if (command === 'status') {
      const status = await agentStatus(runtime);
      process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : printStatus(status));
      return 0;
    }
    const release = acquireAgentLock(config.stateDir);
    process.on('exit', release);
    // Everything is persisted before each step: stopping now and resuming at the next start is safe.
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.on(signal, () => {
        release();
        process.exit(0);
      });
    const options = { ...(values.reboot ? { reboot: true } : {}), ...(values.ca ? { caFile: values.ca } : {}) };
    if (command === undefined) {
      await new AgentDaemon(runtime, values.once ? { once: true } : {}).run();
      return 0;
    }
    const result =
      command === 'install'
        ? await installStandalone(runtime, rest[0] as string, options)
        : command === 'commit'
          ? await commitStandalone(runtime, options)
          : await rollbackStandalone(runtime, options);
    return finished(result, command);
  } catch (err) {
    const line = err instanceof SlipwayError ? err.toLine() : `SLW_INTERNAL_ERROR: ${(err as Error).message}`;
    process.stderr.write(`${line}\n`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      ca: { type: 'string' },
      once: { type: 'boolean' },
      reboot: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

function usage(message: string): number {
  process.stderr.write(`SLW_USAGE_INVALID_OPTION: ${message}\n${USAGE}`);
  return 2;
}

function finished(result: StandaloneResult, command: string): number {
  const name = `${result.record.installer.name ?? 'the update'} ${result.record.installer.version ?? ''}`.trim();
  switch (result.ended) {
    case 'success':
      process.stdout.write(`${name} is installed and committed\n`);
      return 0;
    case 'already-installed':
      process.stdout.write(`${name} is installed already\n`);
      return 0;
    case 'reboot':
      process.stdout.write(
        result.record.state === 'rollbackRebooting'
          ? 'reboot now to go back to the previous software\n'
          : `reboot now to try ${name}; then run slipway-agent commit (or slipway-agent rollback)\n`,
      );
      return 0;
    case 'rolled-back':
      if (command === 'rollback') {
        process.stdout.write(`${name} was rolled back; the previous software runs\n`);
        return 0;
      }
      process.stderr.write(`SLW_INSTALLER_FAILED: ${name} was rolled back: ${result.record.error ?? 'it did not pass the health gate'}\n`);
      return 3;
    case 'failure':
      if (command === 'rollback') {
        process.stdout.write(`${name} was given up before it was switched to\n`);
        return 0;
      }
      process.stderr.write(`${result.record.error ?? 'SLW_INSTALLER_FAILED: the update failed'}\n`);
      return 1;
  }
}

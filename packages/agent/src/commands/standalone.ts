import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileError, SlipwayError } from '@slipway/core';
import { updateMachine } from '../daemon/agent-daemon.js';
import { JobLog } from '../daemon/job-log.js';
import type { AgentRuntime } from '../runtime/agent-runtime.js';
import type { UpdateRecord } from '../state/state-store.js';
import type { UpdateMachine } from '../state/update-machine.js';

/** How a standalone command ended. */
export type StandaloneResult =
  | { readonly ended: 'success' | 'already-installed'; readonly record: UpdateRecord }
  | { readonly ended: 'failure' | 'rolled-back'; readonly record: UpdateRecord }
  | { readonly ended: 'reboot'; readonly record: UpdateRecord };

export interface StandaloneOptions {
  /** Run the reboot command when a reboot is due, instead of leaving it to the user. */
  readonly reboot?: boolean;
  /** CA for an https:// source (default: the server CA of the config). */
  readonly caFile?: string;
}

/**
 * `slipway-agent install A.slw|URL`: the same state machine and checks as a deployment, without a
 * server. Without `--reboot` it stops where a reboot is due, having recorded this boot's id, so
 * that `slipway-agent commit` after the reboot knows the new software is what runs.
 */
export async function installStandalone(runtime: AgentRuntime, source: string, options: StandaloneOptions): Promise<StandaloneResult> {
  const machine = await standaloneMachine(runtime, options);
  const isUrl = /^https:\/\//.test(source);
  if (!isUrl && /^[a-z]+:\/\//i.test(source))
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `${source}: only https:// URLs and local files can be installed`);
  await machine.begin({
    deploymentId: null,
    attempt: 1,
    source: isUrl ? source : resolve(source),
    artifact: { name: '', version: '', sha256: null, securityVersion: null, payloadType: null },
  });
  return runUntilReboot(runtime, machine, options);
}

/** `slipway-agent commit`: after the reboot, the health gate, then commit (or roll back). */
export async function commitStandalone(runtime: AgentRuntime, options: StandaloneOptions): Promise<StandaloneResult> {
  const record = await runtime.store.load();
  if (record.state === 'idle') throw new SlipwayError('SLW_AGENT_NO_UPDATE', 'no update is waiting to be committed');
  await ensureRebooted(runtime, record);
  return runUntilReboot(runtime, await standaloneMachine(runtime, options), options);
}

/** States in which the update is already going back: `rollback` only finishes it. */
const GOING_BACK = new Set(['rollingBack', 'rollbackRebooting', 'reportingFailure']);

/** `slipway-agent rollback`: gives up the update under way (before it was committed), or finishes going back. */
export async function rollbackStandalone(runtime: AgentRuntime, options: StandaloneOptions): Promise<StandaloneResult> {
  const machine = await standaloneMachine(runtime, options);
  const record = await runtime.store.load();
  if (GOING_BACK.has(record.state)) await ensureRebooted(runtime, record);
  else await machine.cancel('rolled back by hand (slipway-agent rollback)');
  return runUntilReboot(runtime, machine, options);
}

/** A reboot the update is waiting for must have happened before it goes on (else it would ask for it again). */
async function ensureRebooted(runtime: AgentRuntime, record: UpdateRecord): Promise<void> {
  if ((record.state === 'rebooting' || record.state === 'rollbackRebooting') && record.rebootRequestedIn === (await runtime.bootId()))
    throw new SlipwayError('SLW_AGENT_REBOOT_PENDING', 'reboot first: the update goes on after the reboot it is waiting for');
}

async function standaloneMachine(runtime: AgentRuntime, options: StandaloneOptions): Promise<UpdateMachine> {
  const caFile = options.caFile ?? runtime.config.server?.caFile;
  let sourceCa: string | undefined;
  if (caFile) {
    try {
      sourceCa = await readFile(caFile, 'utf8');
    } catch (err) {
      throw fileError(err, caFile, 'read');
    }
  }
  const jobLog = new JobLog(runtime.config.stateDir, runtime.config.logs.keyFile, runtime.log);
  return updateMachine(runtime, jobLog, { standalone: true, ...(sourceCa ? { sourceCa } : {}) });
}

async function runUntilReboot(runtime: AgentRuntime, machine: UpdateMachine, options: StandaloneOptions): Promise<StandaloneResult> {
  let last = await runtime.store.load();
  for (;;) {
    const record = await runtime.store.load();
    if (record.state === 'idle') break;
    last = record;
    if (!options.reboot && (record.state === 'rebooting' || record.state === 'rollbackRebooting')) {
      const id = await runtime.bootId();
      if (record.rebootRequestedIn === null) {
        // What the rebooting state would record before asking: after the user's reboot, a new id proves it happened.
        await runtime.store.save({ ...record, rebootRequestedIn: id, updatedAt: new Date().toISOString() });
        return { ended: 'reboot', record: { ...record, rebootRequestedIn: id } };
      }
      if (record.rebootRequestedIn === id) return { ended: 'reboot', record };
    }
    await machine.step();
  }
  const outcome = String(last.installer.outcome ?? (last.state === 'reportingSuccess' ? 'success' : 'failure'));
  if (outcome === 'success' || outcome === 'already-installed') return { ended: outcome, record: last };
  return { ended: outcome === 'rolled-back' ? 'rolled-back' : 'failure', record: last };
}

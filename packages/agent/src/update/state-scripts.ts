import { SlipwayError } from '@slipway/core';
import { type HookResult, runHooks, stateScripts } from '../hooks/hook-runner.js';
import type { Effect, WorkingState } from '../state/update-machine.js';

/** Mender's state names, so existing state scripts keep their names. Verifying runs none of its own: it is the health gate. */
const SCRIPT_STATE: Readonly<Partial<Record<WorkingState, string>>> = {
  downloading: 'Download',
  installing: 'ArtifactInstall',
  rebooting: 'ArtifactReboot',
  committing: 'ArtifactCommit',
  rollingBack: 'ArtifactRollback',
  rollbackRebooting: 'ArtifactRollbackReboot',
  reportingFailure: 'ArtifactFailure',
};

/** States whose scripts may stop the update: before anything is committed. Later ones are only logged. */
const MAY_ABORT: ReadonlySet<WorkingState> = new Set(['downloading', 'installing', 'rebooting', 'committing']);

export interface StateScriptOptions {
  readonly dir: string;
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
}

/**
 * Wraps each state's effect with the integrator's state scripts: `<State>_Enter_NN` before it,
 * `<State>_Leave_NN` after it succeeded, `<State>_Error_NN` when it failed. A failing Enter or
 * Leave script of a state before the commit fails that state (the table then rolls back or
 * reports); in rollback and failure states a failing script is logged and the update goes on,
 * since stopping there would leave the device worse off. Scripts run again when a state is
 * resumed after a kill, as Mender's do: they must be safe to repeat.
 */
export function withStateScripts(
  effects: Readonly<Record<WorkingState, Effect>>,
  options: StateScriptOptions,
): Record<WorkingState, Effect> {
  const run = (name: string, phase: 'Enter' | 'Leave' | 'Error', env: Record<string, string>): Promise<HookResult> =>
    runHooks(options.dir, {
      timeoutMs: options.timeoutMs,
      select: stateScripts(name, phase),
      env,
      ...(options.log ? { log: options.log } : {}),
    });
  const wrapped = {} as Record<WorkingState, Effect>;
  for (const [state, effect] of Object.entries(effects) as [WorkingState, Effect][]) {
    const name = SCRIPT_STATE[state];
    if (!name) {
      wrapped[state] = effect;
      continue;
    }
    wrapped[state] = async (record, remember) => {
      const env = {
        SLIPWAY_STATE: state,
        MENDER_STATE: name,
        SLIPWAY_ARTIFACT_NAME: record.job?.artifact.name ?? '',
        SLIPWAY_ARTIFACT_VERSION: record.job?.artifact.version ?? '',
        SLIPWAY_DEPLOYMENT_ID: record.job?.deploymentId ?? '',
      };
      const check = (result: HookResult, phase: string) => {
        if (result.ok) return;
        const why = `state script ${result.failed.hook} (${phase}) failed: ${result.failed.how}`;
        if (MAY_ABORT.has(state)) throw new SlipwayError('SLW_INSTALLER_FAILED', why);
        options.log?.(`${why}; the update goes on`);
      };
      try {
        check(await run(name, 'Enter', env), 'Enter');
        const result = await effect(record, remember);
        check(await run(name, 'Leave', env), 'Leave');
        return result;
      } catch (err) {
        // A reboot that is still pending is not an error of the state.
        if (!(err instanceof SlipwayError && err.retryable)) await run(name, 'Error', env);
        throw err;
      }
    };
  }
  return wrapped;
}

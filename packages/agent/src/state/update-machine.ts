import { SlipwayError } from '@slipway/core';
import { IDLE, type StateStore, type UpdateJob, type UpdateRecord } from './state-store.js';
import { transition, type UpdateEvent, type UpdateStateName } from './transitions.js';

/** Before the commit: later, undoing would fight a finished update (the report is all that is left). */
const CANCELLABLE: readonly UpdateStateName[] = ['downloading', 'installing', 'rebooting', 'verifying'];

export type WorkingState = Exclude<UpdateStateName, 'idle'>;

/** What an effect ends with: the event, and what it wants remembered for later states. */
export interface EffectResult {
  readonly event: UpdateEvent;
  readonly installer?: UpdateRecord['installer'];
  readonly rebootRequestedIn?: string | null;
  readonly error?: string | null;
}

/** Persists facts at once, before the effect's next side effect (e.g. the boot id before a reboot). */
export type Remember = (patch: Partial<Pick<UpdateRecord, 'installer' | 'rebootRequestedIn'>>) => Promise<void>;

export type Effect = (record: UpdateRecord, remember: Remember) => Promise<EffectResult>;

export interface MachineOptions {
  /** Entries of one state within one update before it counts as a loop (default 5). */
  readonly maxEntries?: number;
  /** Wait before retrying a transient failure; `attempt` counts from 1. */
  readonly backoff?: (attempt: number) => Promise<void>;
  readonly now?: () => Date;
  /** Every transition, for the deployment log. */
  readonly onTransition?: (from: UpdateStateName, event: UpdateEvent, to: UpdateStateName, error: string | null) => void;
}

/**
 * Runs the transition table. Each step: count the entry into the state and persist it, run the
 * state's effect, look up the next state for the event the effect ended with, persist it. A state
 * entered more than `maxEntries` times (the process was killed in it again and again, or a
 * transient error kept coming back) ends with `looping` instead of running its effect once more.
 * A transient error (retryable SlipwayError) retries the state after a back-off; any other error
 * ends the state with `failed`.
 */
export class UpdateMachine {
  private readonly maxEntries: number;

  constructor(
    private readonly store: StateStore,
    private readonly effects: Readonly<Record<WorkingState, Effect>>,
    private readonly options: MachineOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 5;
  }

  /** Begins an update; SLW_AGENT_BUSY if one is under way (it must finish or be resumed first). */
  async begin(job: UpdateJob): Promise<void> {
    const current = await this.store.load();
    if (current.state !== 'idle')
      throw new SlipwayError(
        'SLW_AGENT_BUSY',
        `an update is under way (${current.state}${current.job ? `, ${current.job.artifact.name} ${current.job.artifact.version}` : ''})`,
      );
    const next = transition('idle', 'start');
    if (!next) throw new Error('the transition table has no idle start');
    await this.store.save({ ...IDLE, state: next.to, job, updatedAt: this.now() });
  }

  /**
   * Stops the update under way as if its current state had failed (`slipway-agent rollback`): the
   * table decides what follows (before the switch, a failure report; after it, a rollback).
   */
  async cancel(reason: string): Promise<UpdateStateName> {
    const record = await this.store.load();
    if (record.state === 'idle') throw new SlipwayError('SLW_AGENT_NO_UPDATE', 'no update is under way');
    const next = CANCELLABLE.includes(record.state) ? transition(record.state, 'failed') : undefined;
    if (!next)
      throw new SlipwayError('SLW_AGENT_BUSY', `the update is ${record.state}: too far along to be stopped; it finishes by itself`);
    await this.save(record, next.to, { event: 'failed', error: reason });
    this.options.onTransition?.(record.state, 'failed', next.to, reason);
    return next.to;
  }

  /** Runs (or resumes) the update until it is idle again; returns the last record before idle. */
  async run(): Promise<UpdateRecord> {
    let last = await this.store.load();
    for (;;) {
      const record = await this.store.load();
      if (record.state === 'idle') return last;
      last = record;
      await this.step();
    }
  }

  /** One step; returns the state it moved to. */
  async step(): Promise<UpdateStateName> {
    const record = await this.store.load();
    if (record.state === 'idle') return 'idle';
    const state = record.state;
    const entries = (record.entries[state] ?? 0) + 1;
    let entered: UpdateRecord = { ...record, entries: { ...record.entries, [state]: entries }, updatedAt: this.now() };
    // Persisted before the effect runs: a kill during the effect is counted on the next start.
    await this.store.save(entered);
    const remember: Remember = async (patch) => {
      entered = { ...entered, ...patch, updatedAt: this.now() };
      await this.store.save(entered);
    };
    let result: EffectResult;
    if (entries > this.maxEntries) {
      result = { event: 'looping', error: `${state} was entered ${entries} times` };
    } else {
      try {
        result = await this.effects[state](entered, remember);
      } catch (err) {
        if (err instanceof SlipwayError && err.retryable) {
          await this.options.backoff?.(entries);
          return state;
        }
        // The code goes with the message: the report and `slipway-agent` print it as one line.
        const why = err instanceof SlipwayError ? err.toLine() : err instanceof Error ? err.message : String(err);
        result = { event: 'failed', error: why.slice(0, 500) };
      }
    }
    const next = transition(state, result.event);
    if (!next) {
      // An effect ended with an event its state does not allow: a bug. Treat it as a failure.
      const failed = transition(state, 'failed') ?? transition(state, 'looping');
      if (!failed) throw new Error(`the transition table has no way out of ${state}`);
      await this.save(entered, failed.to, { event: 'failed', error: `${state} ended with ${result.event}, which it does not allow` });
      return failed.to;
    }
    await this.save(entered, next.to, result);
    this.options.onTransition?.(state, result.event, next.to, result.error ?? null);
    return next.to;
  }

  private async save(record: UpdateRecord, to: UpdateStateName, result: EffectResult): Promise<void> {
    if (to === 'idle') {
      await this.store.save({ ...IDLE, updatedAt: this.now() });
      return;
    }
    await this.store.save({
      ...record,
      state: to,
      installer: result.installer ?? record.installer,
      rebootRequestedIn: result.rebootRequestedIn !== undefined ? result.rebootRequestedIn : record.rebootRequestedIn,
      error: result.error !== undefined ? result.error : record.error,
      updatedAt: this.now(),
    });
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }
}

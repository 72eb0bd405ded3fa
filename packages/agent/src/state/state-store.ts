import { readFile } from 'node:fs/promises';
import { SlipwayError } from '@slipway/core';
import { writeFileAtomic } from './atomic-file.js';
import { STATES, type UpdateStateName } from './transitions.js';

/** What is being installed and where it comes from. */
export interface UpdateJob {
  /** Null for a standalone install (no server). */
  readonly deploymentId: string | null;
  readonly attempt: number;
  /** A URL (server download link) or a local path. */
  readonly source: string;
  readonly artifact: {
    readonly name: string;
    readonly version: string;
    readonly sha256: string | null;
    readonly securityVersion: number | null;
    readonly payloadType: string | null;
  };
}

/** The one record the agent persists; written atomically before every side effect. */
export interface UpdateRecord {
  readonly format: 1;
  readonly state: UpdateStateName;
  /** How often each state was entered during this update: crash and retry loops end at a limit. */
  readonly entries: Readonly<Partial<Record<UpdateStateName, number>>>;
  readonly job: UpdateJob | null;
  /** What the installer needs to remember across restarts (target slot, previous release …). */
  readonly installer: Readonly<Record<string, string | number | boolean | null>>;
  /** The boot id when a reboot was requested: a different one on restart means it happened. */
  readonly rebootRequestedIn: string | null;
  /** The last error, for the report and the log. */
  readonly error: string | null;
  readonly updatedAt: string;
}

export const IDLE: UpdateRecord = {
  format: 1,
  state: 'idle',
  entries: {},
  job: null,
  installer: {},
  rebootRequestedIn: null,
  error: null,
  updatedAt: new Date(0).toISOString(),
};

/** The update record in one file (`STATE_DIR/update.json`); absent means idle. */
export class StateStore {
  constructor(private readonly file: string) {}

  async load(): Promise<UpdateRecord> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return IDLE;
      throw new SlipwayError('SLW_IO_FAILED', `cannot read the agent state ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    let record: UpdateRecord;
    try {
      record = JSON.parse(text) as UpdateRecord;
    } catch (err) {
      // Written atomically, so this is not a torn write: someone edited it. Refuse to guess.
      throw new SlipwayError('SLW_AGENT_STATE_INVALID', `the agent state ${this.file} is not valid JSON`, { cause: err });
    }
    if (record?.format !== 1 || !(STATES as readonly string[]).includes(record.state))
      throw new SlipwayError('SLW_AGENT_STATE_INVALID', `the agent state ${this.file} is not a Slipway update record`);
    return record;
  }

  async save(record: UpdateRecord): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(record, null, 2)}\n`);
  }
}

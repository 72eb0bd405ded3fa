import { join } from 'node:path';
import { DeploymentLog } from '../logs/deployment-log.js';
import { LogKey } from '../logs/log-key.js';
import type { UpdateJob } from '../state/state-store.js';

/**
 * The agent's log lines: to standard output (the journal) always, and into the encrypted log of
 * the deployment attempt under way, which goes to the server with a failure report.
 */
export class JobLog {
  readonly dir: string;
  readonly keys: LogKey;
  private current: DeploymentLog | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    stateDir: string,
    keyFile: string,
    private readonly print: (line: string) => void,
  ) {
    this.dir = join(stateDir, 'logs');
    this.keys = new LogKey(keyFile);
  }

  /** Lines from now on also go to this job's log (none for a standalone install). */
  follow(job: UpdateJob | null): DeploymentLog | null {
    if (this.current && job?.deploymentId === this.current.deploymentId && job.attempt === this.current.attempt) return this.current;
    this.current = job?.deploymentId ? new DeploymentLog(this.dir, job.deploymentId, job.attempt, this.keys) : null;
    return this.current;
  }

  readonly line = (text: string): void => {
    this.print(text);
    const log = this.current;
    if (!log) return;
    const stamped = `${new Date().toISOString()} ${text}\n`;
    // Appends are fsynced one by one; a failing disk must not stop the update, only its log.
    this.writes = this.writes
      .then(() => log.append(stamped))
      .catch((err: Error) => this.print(`cannot write the deployment log: ${err.message}`));
  };

  /** Waits for the lines written so far to be on disk (before the log is read for upload). */
  flushed(): Promise<unknown> {
    return this.writes;
  }
}

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlipwayError } from '@slipway/core';

/**
 * One agent process per device at a time: the daemon and a hand-run `install`, `commit` or
 * `rollback` would otherwise drive the same update from two sides. The lock file holds the pid;
 * one left by a process that died (a power cut, a kill) is taken over.
 */
export function acquireAgentLock(stateDir: string): () => void {
  const path = join(stateDir, 'agent.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(readSafe(path), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
      throw new SlipwayError('SLW_AGENT_BUSY', `another slipway-agent (pid ${pid}) is running on this device; stop it first`);
    try {
      unlinkSync(path);
    } catch {
      // Someone else took it over first: the next try tells.
    }
  }
  throw new SlipwayError('SLW_AGENT_BUSY', 'another slipway-agent keeps taking the lock');
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { dirname, join } from 'node:path';
import { SlipwayError } from '@slipway/core';
import SqliteDatabase from 'better-sqlite3';

export const LOCK_FILE = 'server.lock';

/**
 * Makes this process the only Slipway server on a SQLite data directory, for as long as it runs:
 * an exclusive SQLite lock on a small file beside the database. The operating system drops the
 * lock when the process ends, however it ends (SIGKILL included), so a crash never leaves a stale
 * lock. What relies on it: caches that only this process invalidates (see DeviceCache). The
 * database itself stays open to readers such as `sqlite3 .backup`.
 */
export function lockDataDirectory(databaseFile: string): { release(): void } {
  const file = join(dirname(databaseFile), LOCK_FILE);
  let lock: SqliteDatabase.Database;
  try {
    lock = new SqliteDatabase(file, { timeout: 0 });
    lock.pragma('locking_mode = EXCLUSIVE');
    // A write in exclusive locking mode keeps the exclusive lock until the connection closes.
    lock.exec('create table if not exists holder (pid integer); delete from holder;');
    lock.prepare('insert into holder (pid) values (?)').run(process.pid);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new SlipwayError('SLW_DB_IN_USE', `another Slipway server runs on ${dirname(databaseFile)}; one server per data directory`, {
        cause: err,
      });
    }
    throw new SlipwayError('SLW_DB_UNAVAILABLE', `cannot lock ${file}`, { cause: err });
  }
  return { release: () => lock.close() };
}

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SlipwayError } from '@slipway/core';
import SqliteDatabase from 'better-sqlite3';
import { type Dialect, SqliteDialect } from 'kysely';
import type { PoolStatsSource } from '../../pool-stats.js';
import { lockDataDirectory } from './process-lock.js';
import { withStatementCache } from './statement-cache.js';

export interface SqliteOptions {
  readonly file: string;
  readonly busyTimeoutMs: number;
}

/**
 * SQLite through better-sqlite3: WAL (readers never block the writer), foreign keys enforced,
 * a busy timeout instead of instant SQLITE_BUSY, and synchronous=FULL so a committed change
 * survives a crash or power loss, not only a killed process.
 */
export function sqliteDialect(options: SqliteOptions): { dialect: Dialect; poolStats: PoolStatsSource } {
  let opened = false;
  const dialect = new SqliteDialect({
    database: async () => {
      try {
        mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
        const lock = lockDataDirectory(options.file);
        let db: SqliteDatabase.Database;
        try {
          db = new SqliteDatabase(options.file);
          db.pragma('journal_mode = WAL');
          db.pragma('foreign_keys = ON');
          db.pragma('synchronous = FULL');
          db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
        } catch (err) {
          lock.release();
          throw err;
        }
        opened = true;
        const cached = withStatementCache(db);
        return {
          prepare: (sql: string) => cached.prepare(sql),
          close: () => {
            cached.close();
            lock.release();
          },
        };
      } catch (err) {
        if (err instanceof SlipwayError) throw err;
        throw new SlipwayError('SLW_DB_UNAVAILABLE', `cannot open SQLite database ${options.file}`, { cause: err });
      }
    },
  });
  // Kysely serialises every query over one better-sqlite3 connection: there is no pool to watch.
  return { dialect, poolStats: () => ({ total: opened ? 1 : 0 }) };
}

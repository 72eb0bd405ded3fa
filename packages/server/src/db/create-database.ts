import { join } from 'node:path';
import { CamelCasePlugin, Kysely } from 'kysely';
import type { ServerConfig } from '../config/server-config.js';
import { postgresDialect } from './dialects/postgres/postgres-dialect.js';
import { sqliteDialect } from './dialects/sqlite/sqlite-dialect.js';
import type { PoolStatsSource } from './pool-stats.js';
import type { Database } from './schema.js';

export type DatabaseKind = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** Where it lives, safe to log (no credentials). */
  readonly location: string;
  readonly poolStats: PoolStatsSource;
  /**
   * True when this process is the database's only writer: SQLite, whose data directory this
   * process has locked. In-process caches that this process invalidates are exact then.
   */
  readonly soleWriter: boolean;
}

export const SQLITE_FILE = 'slipway.sqlite';

/** The only place that picks a dialect: everything else sees a Kysely<Database>. */
export function createDatabase(config: Readonly<ServerConfig>): OpenedDatabase {
  const plugins = [new CamelCasePlugin()];
  if (config.database.url !== '') {
    const { dialect, poolStats } = postgresDialect({ url: config.database.url, poolSize: config.database.poolSize });
    const url = new URL(config.database.url);
    return {
      db: new Kysely<Database>({ dialect, plugins }),
      kind: 'postgres',
      location: `${url.host}${url.pathname}`,
      poolStats,
      soleWriter: false,
    };
  }
  const file = join(config.dataDir, SQLITE_FILE);
  const { dialect, poolStats } = sqliteDialect({ file, busyTimeoutMs: config.database.busyTimeoutMs });
  return { db: new Kysely<Database>({ dialect, plugins }), kind: 'sqlite', location: file, poolStats, soleWriter: true };
}

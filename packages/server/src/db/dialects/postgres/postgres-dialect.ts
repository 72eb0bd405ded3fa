import { type Dialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { PoolStatsSource } from '../../pool-stats.js';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize: number;
}

/** PostgreSQL through a pg pool; a URL's `options=-c search_path=…` selects a schema (tests use one each). */
export function postgresDialect(options: PostgresOptions): { dialect: Dialect; poolStats: PoolStatsSource } {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize, connectionTimeoutMillis: 10_000 });
  return {
    dialect: new PostgresDialect({ pool }),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

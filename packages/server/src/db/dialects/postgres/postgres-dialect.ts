import { type Dialect, PostgresDialect } from 'kysely';
import pg from 'pg';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize: number;
}

/** PostgreSQL through a pg pool; a URL's `options=-c search_path=…` selects a schema (tests use one each). */
export function postgresDialect(options: PostgresOptions): Dialect {
  return new PostgresDialect({
    pool: new pg.Pool({ connectionString: options.url, max: options.poolSize, connectionTimeoutMillis: 10_000 }),
  });
}

import { SlipwayError } from '@slipway/core';
import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import { migrationSchema } from './dialects/postgres/migration-schema.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

async function migrator(db: Kysely<Database>): Promise<Migrator> {
  const schema = await migrationSchema(db as Kysely<unknown>);
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/**
 * Brings the database to the code's latest migration, in a transaction per migration. A database
 * that has run migrations this code does not know was upgraded by a newer Slipway: refuse it
 * rather than run old code against a newer schema.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<readonly string[]> {
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new SlipwayError('SLW_DB_UNAVAILABLE', `cannot reach the database (${why})`, { cause: err });
  }
  let result: MigrationResultSet;
  try {
    result = await (await migrator(db)).migrateToLatest();
  } catch (err) {
    throw new SlipwayError('SLW_DB_MIGRATION_FAILED', 'migrations could not run', { cause: err });
  }
  if (result.error !== undefined) {
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    if (/previously executed migration .* is missing/.test(message)) {
      throw new SlipwayError('SLW_DB_NEWER_THAN_CODE', 'the database was migrated by a newer Slipway; refusing to start', {
        cause: result.error,
      });
    }
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new SlipwayError('SLW_DB_MIGRATION_FAILED', `migration ${failed} failed: ${message}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** For /readyz: every migration the code knows has run. */
export async function migrationsPending(db: Kysely<Database>): Promise<number> {
  const migrations = await (await migrator(db)).getMigrations();
  return migrations.filter((m) => m.executedAt === undefined).length;
}

import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The schema the migration bookkeeping tables belong in: on PostgreSQL the connection's current
 * schema (the first of its search_path). Kysely otherwise looks for them in every schema of the
 * database, so another schema's tables (a second Slipway, another Kysely app) would make it skip
 * creating ours and then fail. Other dialects have no schemas: undefined.
 */
export async function migrationSchema(db: Kysely<unknown>): Promise<string | undefined> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return undefined;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('the search_path names no schema that exists');
  return schema;
}

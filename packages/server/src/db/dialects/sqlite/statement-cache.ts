import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Enough for every distinct query the server issues; past it the oldest statement is dropped. */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query anew; compiling the same SQL on each request was a tenth of an
 * authenticated request's CPU. This keeps prepared statements by SQL text (Kysely's SQL is
 * parameterised, so the set is small and bounded). SQLite re-prepares a statement by itself after
 * a schema change. A statement still being iterated is never handed out twice.
 */
export function withStatementCache(db: BetterSqlite3.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      statements.clear();
      db.close();
    },
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const statement = db.prepare(sql);
      if (cached) return statement;
      if (statements.size >= size) statements.delete(statements.keys().next().value as string);
      statements.set(sql, statement);
      return statement;
    },
  };
}

import type { Kysely } from 'kysely';
import type { Database, TrustRootTable } from '../db/schema.js';

export type TrustRootRow = TrustRootTable;

/** The fleet's trust roots, one row per version. */
export class TrustRootRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async latest(): Promise<TrustRootRow | undefined> {
    return this.db.selectFrom('trustRoot').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
  }

  async byVersion(version: number): Promise<TrustRootRow | undefined> {
    return this.db.selectFrom('trustRoot').selectAll().where('version', '=', version).executeTakeFirst();
  }

  async list(): Promise<TrustRootRow[]> {
    return this.db.selectFrom('trustRoot').selectAll().orderBy('version').execute();
  }

  /** False when the version is taken (another upload won). */
  async insert(row: TrustRootRow): Promise<boolean> {
    const result = await this.db
      .insertInto('trustRoot')
      .values(row)
      .onConflict((oc) => oc.column('version').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

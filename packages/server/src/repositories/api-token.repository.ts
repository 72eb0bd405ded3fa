import type { Kysely } from 'kysely';
import { preparedQuery } from '../db/prepared-query.js';
import type { ApiTokenTable, Database } from '../db/schema.js';

export type ApiTokenRow = ApiTokenTable;
/** What may be shown: everything but the hash. */
export type ApiTokenListing = Omit<ApiTokenRow, 'tokenHash'>;

export class ApiTokenRepository {
  /** Read on every request a token makes. */
  private readonly selectByHash;

  constructor(private readonly db: Kysely<Database>) {
    this.selectByHash = preparedQuery(db, (db, tokenHash) =>
      db
        .selectFrom('apiToken')
        .select(['id', 'name', 'role', 'tokenHash', 'createdBy', 'createdAt', 'expiresAt', 'revokedAt', 'lastUsedAt'])
        .where('tokenHash', '=', tokenHash),
    );
  }

  async insert(row: ApiTokenRow): Promise<void> {
    await this.db.insertInto('apiToken').values(row).execute();
  }

  async findByHash(tokenHash: string): Promise<ApiTokenRow | undefined> {
    return (await this.selectByHash(tokenHash))[0];
  }

  async list(): Promise<ApiTokenListing[]> {
    return this.db
      .selectFrom('apiToken')
      .select(['id', 'name', 'role', 'createdBy', 'createdAt', 'expiresAt', 'revokedAt', 'lastUsedAt'])
      .orderBy('createdAt', 'asc')
      .execute();
  }

  /** Returns false when there is no such token or it was already revoked. */
  async revoke(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('apiToken')
      .set({ revokedAt: at })
      .where('id', '=', id)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('apiToken').set({ lastUsedAt: at }).where('id', '=', id).execute();
  }
}

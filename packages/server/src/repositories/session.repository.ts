import type { Kysely } from 'kysely';
import type { Database, SessionTable, UserTable } from '../db/schema.js';

export type SessionRow = SessionTable;

export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: SessionRow): Promise<void> {
    await this.db.insertInto('session').values(row).execute();
  }

  /** The session and its user, read fresh on every request: revocation needs no cache to expire. */
  async findWithUser(tokenHash: string): Promise<{ session: SessionRow; user: UserTable } | undefined> {
    const session = await this.db.selectFrom('session').selectAll().where('tokenHash', '=', tokenHash).executeTakeFirst();
    if (!session) return undefined;
    const user = await this.db.selectFrom('user').selectAll().where('id', '=', session.userId).executeTakeFirst();
    return user ? { session, user } : undefined;
  }

  async revoke(tokenHash: string, at: string): Promise<void> {
    await this.db.updateTable('session').set({ revokedAt: at }).where('tokenHash', '=', tokenHash).where('revokedAt', 'is', null).execute();
  }

  async revokeAllOfUser(userId: string, at: string): Promise<void> {
    await this.db.updateTable('session').set({ revokedAt: at }).where('userId', '=', userId).where('revokedAt', 'is', null).execute();
  }
}

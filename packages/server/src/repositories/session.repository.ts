import type { Kysely } from 'kysely';
import { preparedQuery } from '../db/prepared-query.js';
import type { Database, SessionTable, UserTable } from '../db/schema.js';

export type SessionRow = SessionTable;

/** What authentication needs to know about a session and its user. */
export interface LiveSession {
  readonly revokedAt: string | null;
  readonly expiresAt: string;
  readonly user: Pick<UserTable, 'id' | 'username' | 'role' | 'disabledAt'>;
}

export class SessionRepository {
  /** Read on every request a session makes: one indexed join. */
  private readonly selectLive;

  constructor(private readonly db: Kysely<Database>) {
    this.selectLive = preparedQuery(db, (db, tokenHash) =>
      db
        .selectFrom('session')
        .innerJoin('user', 'user.id', 'session.userId')
        .select(['session.revokedAt', 'session.expiresAt', 'user.id as userId', 'user.username', 'user.role', 'user.disabledAt'])
        .where('session.tokenHash', '=', tokenHash),
    );
  }

  async insert(row: SessionRow): Promise<void> {
    await this.db.insertInto('session').values(row).execute();
  }

  /** The session and its user, read fresh on every request: revocation needs no cache to expire. */
  async findLive(tokenHash: string): Promise<LiveSession | undefined> {
    const [row] = await this.selectLive(tokenHash);
    if (!row) return undefined;
    const { revokedAt, expiresAt, userId, username, role, disabledAt } = row;
    return { revokedAt, expiresAt, user: { id: userId, username, role, disabledAt } };
  }

  async revoke(tokenHash: string, at: string): Promise<void> {
    await this.db.updateTable('session').set({ revokedAt: at }).where('tokenHash', '=', tokenHash).where('revokedAt', 'is', null).execute();
  }

  async revokeAllOfUser(userId: string, at: string): Promise<void> {
    await this.db.updateTable('session').set({ revokedAt: at }).where('userId', '=', userId).where('revokedAt', 'is', null).execute();
  }
}

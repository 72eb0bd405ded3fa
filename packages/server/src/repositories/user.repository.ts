import type { Kysely } from 'kysely';
import type { Database, UserTable } from '../db/schema.js';

export type UserRow = UserTable;

/** Plain queries over the user table; no policy lives here. */
export class UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('user')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(user: UserRow): Promise<void> {
    await this.db.insertInto('user').values(user).execute();
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('user').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(): Promise<Omit<UserRow, 'passwordHash'>[]> {
    return this.db
      .selectFrom('user')
      .select(['id', 'username', 'role', 'disabledAt', 'createdAt', 'updatedAt'])
      .orderBy('username')
      .execute();
  }

  async update(id: string, changes: Partial<Pick<UserRow, 'role' | 'disabledAt' | 'passwordHash' | 'updatedAt'>>): Promise<void> {
    await this.db.updateTable('user').set(changes).where('id', '=', id).execute();
  }
}

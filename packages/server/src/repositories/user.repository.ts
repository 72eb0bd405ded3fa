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
}

import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Secrets the server generates for itself (the device token key), shared by every process. */
export class ServerSecretRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The stored value of `name`, storing `candidate` first if there is none. */
  async getOrCreate(name: string, candidate: string, at: string): Promise<string> {
    await this.db
      .insertInto('serverSecret')
      .values({ name, value: candidate, createdAt: at })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('serverSecret').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}

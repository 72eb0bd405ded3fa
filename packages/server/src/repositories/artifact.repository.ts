import type { Kysely } from 'kysely';
import type { ArtifactTable, Database } from '../db/schema.js';

export type ArtifactRow = ArtifactTable;

/** Artifact metadata; the bytes live in the artifact store under `<sha256>.slw`. */
export class ArtifactRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: ArtifactRow): Promise<void> {
    await this.db.insertInto('artifact').values(row).execute();
  }

  async byId(id: string): Promise<ArtifactRow | undefined> {
    return this.db.selectFrom('artifact').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async bySha256(sha256: string): Promise<ArtifactRow | undefined> {
    return this.db.selectFrom('artifact').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  }

  async byNameVersion(name: string, version: string): Promise<ArtifactRow | undefined> {
    return this.db.selectFrom('artifact').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
  }

  async list(name?: string): Promise<ArtifactRow[]> {
    let query = this.db.selectFrom('artifact').selectAll();
    if (name) query = query.where('name', '=', name);
    return query.orderBy('uploadedAt', 'desc').orderBy('id').execute();
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('artifact').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

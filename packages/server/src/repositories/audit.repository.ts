import type { Kysely } from 'kysely';
import type { AuditEntryTable, Database } from '../db/schema.js';

export interface AuditRow extends Omit<AuditEntryTable, 'seq'> {
  readonly seq: number;
}

function normalise(row: AuditEntryTable): AuditRow {
  return { ...row, seq: Number(row.seq) };
}

/** Append and read the audit chain; there is deliberately no update or delete here. */
export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async head(): Promise<AuditRow | undefined> {
    const row = await this.db.selectFrom('auditEntry').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? normalise(row) : undefined;
  }

  /** Fails with the database's unique-violation error if `seq` was taken meanwhile. */
  async insert(row: AuditRow): Promise<void> {
    await this.db.insertInto('auditEntry').values(row).execute();
  }

  /** Entries with seq > `after`, in order, a page at a time (verify streams the whole log). */
  async page(after: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.db.selectFrom('auditEntry').selectAll().where('seq', '>', after).orderBy('seq', 'asc').limit(limit).execute();
    return rows.map(normalise);
  }
}

import { type Kysely, sql } from 'kysely';
import type { AuditEntryTable, Database } from '../db/schema.js';

export interface AuditRow extends Omit<AuditEntryTable, 'seq'> {
  readonly seq: number;
}

function normalise(row: AuditEntryTable): AuditRow {
  return { ...row, seq: Number(row.seq) };
}

/** What `search` narrows the log to; every field is optional and they all must match. */
export interface AuditFilter {
  /** Oldest first (the default) or newest first. */
  readonly order?: 'asc' | 'desc';
  /** Only entries with seq > after (the cursor of an oldest-first page). */
  readonly after?: number;
  /** Only entries with seq < before (the cursor of a newest-first page). */
  readonly before?: number;
  /** The action starts with this (`device.` matches `device.accept`). */
  readonly actionPrefix?: string;
  readonly actorId?: string;
  readonly target?: string;
  /** The details' top-level `severity`; `any` is warning or critical. */
  readonly severity?: 'warning' | 'critical' | 'any';
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

  /**
   * A page of the entries that match, and the cursor of the next page (null when this one is not
   * full). Details are canonical JSON, so a severity shows as `"severity":"warning"` exactly; the
   * LIKE narrows the scan and the parse below drops a nested object's `severity` key (a device
   * identity attribute, say), which the text alone cannot tell from the entry's own.
   */
  async search(filter: AuditFilter, limit: number): Promise<{ entries: AuditRow[]; next: number | null }> {
    const order = filter.order ?? 'asc';
    const severities = filter.severity === 'any' ? ['warning', 'critical'] : filter.severity ? [filter.severity] : [];
    const entries: AuditRow[] = [];
    let after = filter.after;
    let before = filter.before;
    for (;;) {
      let query = this.db.selectFrom('auditEntry').selectAll();
      if (after !== undefined) query = query.where('seq', '>', after);
      if (before !== undefined) query = query.where('seq', '<', before);
      const prefix = filter.actionPrefix;
      // substr, not LIKE: `_` in an action is a LIKE wildcard, and SQLite's LIKE ignores case.
      if (prefix) query = query.where(sql`substr(${sql.ref('action')}, 1, ${sql.lit(prefix.length)})`, '=', prefix);
      if (filter.actorId !== undefined) query = query.where('actorId', '=', filter.actorId);
      if (filter.target !== undefined) query = query.where('target', '=', filter.target);
      if (severities.length)
        query = query.where((eb) => eb.or(severities.map((s) => eb('details', 'like', `%"severity":${JSON.stringify(s)}%`))));
      const batch = (await query.orderBy('seq', order).limit(limit).execute()).map(normalise);
      for (const row of batch) {
        if (severities.length && !severities.includes(topLevelSeverity(row.details))) continue;
        entries.push(row);
        if (entries.length === limit) return { entries, next: row.seq };
      }
      const last = batch.at(-1);
      if (batch.length < limit || !last) return { entries, next: null };
      if (order === 'asc') after = last.seq;
      else before = last.seq;
    }
  }
}

function topLevelSeverity(details: string | null): string {
  if (!details) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    return ''; // not written by the log (verify names such an entry)
  }
  const severity = typeof parsed === 'object' && parsed !== null ? (parsed as { severity?: unknown }).severity : undefined;
  return typeof severity === 'string' ? severity : '';
}

import { createHash } from 'node:crypto';
import type { AuditRepository, AuditRow } from '../repositories/audit.repository.js';

export const GENESIS_HASH = '0'.repeat(64);
const MAX_APPEND_ATTEMPTS = 20;
const VERIFY_PAGE = 1000;

export type ActorType = 'user' | 'token' | 'system' | 'anonymous' | 'device';
export type Outcome = 'success' | 'failure' | 'denied';

export interface AuditEvent {
  readonly actorType: ActorType;
  readonly actorId?: string | null;
  readonly sourceIp?: string | null;
  /** Verb-noun, e.g. `user.create`, `login.failed`, `token.revoke`. */
  readonly action: string;
  readonly target?: string | null;
  readonly outcome: Outcome;
  /** Non-secret facts; never passwords, tokens or keys. */
  readonly details?: Record<string, unknown> | null;
}

export type AuditVerdict =
  | { readonly ok: true; readonly entries: number; readonly headSeq: number; readonly headHash: string }
  | { readonly ok: false; readonly entries: number; readonly firstBadSeq: number; readonly reason: string };

/** JSON with object keys sorted at every level: the same facts always give the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The SHA-256 of an entry's canonical form, which includes the previous entry's hash. */
export function entryHash(row: Omit<AuditRow, 'hash'>): string {
  const canonical = canonicalJson({
    seq: row.seq,
    at: row.at,
    actorType: row.actorType,
    actorId: row.actorId,
    sourceIp: row.sourceIp,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    details: row.details,
    prevHash: row.prevHash,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The tamper-evident audit log: each entry stores the hash of the one before it, so editing,
 * deleting or reordering any entry breaks the chain from that entry on, and `verify` names it.
 * (Cutting entries off the end leaves a valid shorter chain: compare the head with an export.)
 */
export class AuditLog {
  constructor(
    private readonly entries: AuditRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** An entry for a change a caller made through the API: the actor and source come from its context. */
  appendFor(
    context: { readonly principal: { readonly kind: 'user' | 'token'; readonly id: string }; readonly sourceIp: string },
    event: Omit<AuditEvent, 'actorType' | 'actorId' | 'sourceIp'>,
  ): Promise<AuditRow> {
    return this.append({ actorType: context.principal.kind, actorId: context.principal.id, sourceIp: context.sourceIp, ...event });
  }

  /** The tail of this process's appends: each waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((row: AuditRow) => Promise<void>)[] = [];

  /**
   * Called with every entry once it is in the chain (webhooks escalate security events). A
   * listener handles its own failures: the entry is written whatever a listener does.
   */
  onAppended(listener: (row: AuditRow) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /**
   * Appends one entry. Appends from this process go one at a time (racing for the next number
   * among themselves would only burn retries); another process on the same PostgreSQL can still
   * take a number first, and then this append chains onto its entry and tries again.
   */
  async append(event: AuditEvent): Promise<AuditRow> {
    const result = this.queue.then(() => this.appendNow(event));
    this.queue = result.catch(() => undefined);
    const row = await result;
    for (const listener of this.listeners) await listener(row).catch(() => undefined);
    return row;
  }

  private async appendNow(event: AuditEvent): Promise<AuditRow> {
    const details = event.details ? canonicalJson(event.details) : null;
    for (let attempt = 1; ; attempt++) {
      const head = await this.entries.head();
      const unhashed = {
        seq: (head?.seq ?? 0) + 1,
        at: this.now().toISOString(),
        actorType: event.actorType,
        actorId: event.actorId ?? null,
        sourceIp: event.sourceIp ?? null,
        action: event.action,
        target: event.target ?? null,
        outcome: event.outcome,
        details,
        prevHash: head?.hash ?? GENESIS_HASH,
      };
      const row: AuditRow = { ...unhashed, hash: entryHash(unhashed) };
      try {
        await this.entries.insert(row);
        return row;
      } catch (err) {
        // Another writer took this number: chain onto its entry instead. Anything else is real.
        if (attempt >= MAX_APPEND_ATTEMPTS || !(await this.taken(row.seq))) throw err;
        // Another process won this number: back off a little, at random, so two do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt * 2));
      }
    }
  }

  private async taken(seq: number): Promise<boolean> {
    const head = await this.entries.head();
    return head !== undefined && head.seq >= seq;
  }

  /** Walks the whole chain in pages; stops at the first entry that does not fit. */
  async verify(): Promise<AuditVerdict> {
    let previous: AuditRow | undefined;
    let count = 0;
    for (;;) {
      const page = await this.entries.page(previous?.seq ?? 0, VERIFY_PAGE);
      if (page.length === 0) break;
      for (const row of page) {
        const expectedSeq = (previous?.seq ?? 0) + 1;
        if (row.seq !== expectedSeq) return bad(count, expectedSeq, `entry ${expectedSeq} is missing (next is ${row.seq})`);
        if (row.prevHash !== (previous?.hash ?? GENESIS_HASH))
          return bad(count, row.seq, `entry ${row.seq} does not follow entry ${row.seq - 1}`);
        const { hash, ...unhashed } = row;
        if (entryHash(unhashed) !== hash) return bad(count, row.seq, `entry ${row.seq} was changed after it was written`);
        previous = row;
        count++;
      }
    }
    return { ok: true, entries: count, headSeq: previous?.seq ?? 0, headHash: previous?.hash ?? GENESIS_HASH };
  }
}

function bad(entries: number, firstBadSeq: number, reason: string): AuditVerdict {
  return { ok: false, entries, firstBadSeq, reason };
}

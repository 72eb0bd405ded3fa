import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveryTable, WebhookTable } from '../db/schema.js';

export type WebhookRow = WebhookTable;
export type DeliveryRow = WebhookDeliveryTable;

/** Webhook subscriptions and their deliveries (an outbox: written first, sent by a worker). */
export class WebhookRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: WebhookRow): Promise<void> {
    await this.db.insertInto('webhook').values(row).execute();
  }

  async list(): Promise<WebhookRow[]> {
    return this.db.selectFrom('webhook').selectAll().orderBy('name').execute();
  }

  async byName(name: string): Promise<WebhookRow | undefined> {
    return this.db.selectFrom('webhook').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async byId(id: string): Promise<WebhookRow | undefined> {
    return this.db.selectFrom('webhook').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('webhook').where('id', '=', id).execute();
  }

  async enqueue(rows: readonly DeliveryRow[]): Promise<void> {
    if (rows.length > 0)
      await this.db
        .insertInto('webhookDelivery')
        .values([...rows])
        .execute();
  }

  /** Deliveries due now and not held by a live lease. */
  async due(now: string, limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('webhookDelivery')
      .selectAll()
      .where('status', '=', 'pending')
      .where('nextAttemptAt', '<=', now)
      .where((eb) => eb.or([eb('leaseUntil', 'is', null), eb('leaseUntil', '<', now)]))
      .orderBy('nextAttemptAt')
      .limit(limit)
      .execute();
  }

  /** Takes a delivery for this process until `until`; false when another process took it first. */
  async lease(id: string, seenLease: string | null, until: string): Promise<boolean> {
    const result = await this.db
      .updateTable('webhookDelivery')
      .set({ leaseUntil: until })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where((eb) => (seenLease === null ? eb('leaseUntil', 'is', null) : eb('leaseUntil', '=', seenLease)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async settle(
    id: string,
    changes: Partial<Pick<DeliveryRow, 'status' | 'attempts' | 'nextAttemptAt' | 'lastStatus' | 'lastError' | 'deliveredAt'>>,
  ) {
    await this.db
      .updateTable('webhookDelivery')
      .set({ ...changes, leaseUntil: null })
      .where('id', '=', id)
      .execute();
  }

  async deliveries(webhookId: string, limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('webhookDelivery')
      .selectAll()
      .where('webhookId', '=', webhookId)
      .orderBy('createdAt', 'desc')
      .limit(limit)
      .execute();
  }
}

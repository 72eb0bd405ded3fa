import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SlipwayError } from '@slipway/core';
import type { AuditRow } from '../repositories/audit.repository.js';
import type { DeliveryRow, WebhookRepository, WebhookRow } from '../repositories/webhook.repository.js';
import type { AuditLog } from './audit-log.service.js';
import { PeriodicJob } from './periodic-job.js';
import type { RequestContext } from './user.service.js';

export const SIGNATURE_HEADER = 'x-slipway-signature';
export const TIMESTAMP_HEADER = 'x-slipway-timestamp';
export const MAX_ATTEMPTS = 8;
const DELIVERY_TIMEOUT_MS = 10_000;
const LEASE_MS = 60_000;
const BATCH = 20;
const MAX_BACKOFF_MS = 60 * 60_000;

export interface WebhookSummary {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly createdAt: string;
}

export interface DeliverySummary {
  readonly id: string;
  readonly eventType: string;
  readonly status: string;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  readonly nextAttemptAt: string;
}

const summary = (w: WebhookRow): WebhookSummary => ({
  id: w.id,
  name: w.name,
  url: w.url,
  events: JSON.parse(w.events),
  createdAt: w.createdAt,
});

/** `security.*` matches every security event; an exact type matches itself. */
export function matches(patterns: readonly string[], eventType: string): boolean {
  return patterns.some((p) => p === eventType || (p.endsWith('.*') && eventType.startsWith(p.slice(0, -1))));
}

/**
 * The HMAC receivers check: SHA-256 over `<timestamp>.<body>` with the webhook's secret, so a
 * delivery cannot be forged or replayed with another time.
 */
export function signDelivery(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Webhooks: subscriptions to event types, fed from the audit log (entries with a severity of
 * warning or critical are security events), delivered by a background worker with signatures,
 * retries and back-off. Deliveries are written before they are sent (an outbox), so a crash or a
 * down receiver loses nothing; a lease keeps two server processes from sending one twice at once.
 */
export class WebhookService {
  private readonly worker = new PeriodicJob(
    () => this.deliverDue(),
    (err) => this.report(err, 'delivering webhooks'),
  );

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
    /** Where the worker reports what it could not do (a database error, say). */
    private readonly report: (err: unknown, what: string) => void = () => {},
  ) {
    audit.onAppended((row) => this.onAudit(row).catch((err) => this.report(err, 'queueing a security event for webhooks')));
  }

  async create(
    context: RequestContext,
    name: string,
    url: string,
    events: readonly string[],
  ): Promise<WebhookSummary & { secret: string }> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SlipwayError('SLW_WEBHOOK_INVALID', `${url.slice(0, 200)} is not a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      throw new SlipwayError('SLW_WEBHOOK_INVALID', 'a webhook URL must be http(s)');
    if (parsed.username || parsed.password)
      throw new SlipwayError('SLW_WEBHOOK_INVALID', 'put no credentials in a webhook URL; deliveries are signed');
    if (await this.webhooks.byName(name)) throw new SlipwayError('SLW_WEBHOOK_EXISTS', `a webhook named ${name} exists already`);
    const row: WebhookRow = {
      id: randomUUID(),
      name,
      url: parsed.toString(),
      events: JSON.stringify(events),
      secret: randomBytes(32).toString('base64url'),
      createdAt: this.now().toISOString(),
      createdBy: context.principal.id,
    };
    await this.webhooks.insert(row);
    await this.audit.appendFor(context, { action: 'webhook.create', target: name, outcome: 'success', details: { url: row.url, events } });
    return { ...summary(row), secret: row.secret };
  }

  async list(): Promise<WebhookSummary[]> {
    return (await this.webhooks.list()).map(summary);
  }

  async delete(context: RequestContext, name: string): Promise<void> {
    const row = await this.require(name);
    await this.webhooks.delete(row.id);
    await this.audit.appendFor(context, { action: 'webhook.delete', target: name, outcome: 'success' });
  }

  async deliveries(name: string): Promise<DeliverySummary[]> {
    const row = await this.require(name);
    return (await this.webhooks.deliveries(row.id, 100)).map(
      ({ id, eventType, status, attempts, lastStatus, lastError, createdAt, deliveredAt, nextAttemptAt }) => ({
        id,
        eventType,
        status,
        attempts,
        lastStatus,
        lastError,
        createdAt,
        deliveredAt,
        nextAttemptAt,
      }),
    );
  }

  /** Queues an event for every webhook subscribed to its type. */
  async publish(eventType: string, data: Record<string, unknown>): Promise<void> {
    const subscribed = (await this.webhooks.list()).filter((w) => matches(JSON.parse(w.events), eventType));
    if (subscribed.length === 0) return;
    const at = this.now().toISOString();
    await this.webhooks.enqueue(
      subscribed.map((w) => {
        const id = randomUUID();
        return {
          id,
          webhookId: w.id,
          eventType,
          payload: JSON.stringify({ id, type: eventType, at, data }),
          status: 'pending' as const,
          attempts: 0,
          nextAttemptAt: at,
          leaseUntil: null,
          lastStatus: null,
          lastError: null,
          createdAt: at,
          deliveredAt: null,
        };
      }),
    );
  }

  /** Starts the delivery worker: every `intervalMs`, send what is due. */
  start(intervalMs = 1000): void {
    this.worker.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** One pass of the worker (tests call it directly). Returns how many deliveries it attempted. */
  async deliverDue(): Promise<number> {
    const now = this.now();
    const due = await this.webhooks.due(now.toISOString(), BATCH);
    let attempted = 0;
    for (const delivery of due) {
      if (!(await this.webhooks.lease(delivery.id, delivery.leaseUntil, new Date(now.getTime() + LEASE_MS).toISOString()))) continue;
      const webhook = await this.webhooks.byId(delivery.webhookId);
      if (!webhook) continue;
      attempted++;
      await this.attempt(webhook, delivery);
    }
    return attempted;
  }

  private async attempt(webhook: WebhookRow, delivery: DeliveryRow): Promise<void> {
    const attempts = delivery.attempts + 1;
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    const outcome = await post(webhook.url, delivery.payload, {
      'content-type': 'application/json',
      'x-slipway-event': delivery.eventType,
      'x-slipway-delivery': delivery.id,
      [TIMESTAMP_HEADER]: timestamp,
      [SIGNATURE_HEADER]: signDelivery(webhook.secret, timestamp, delivery.payload),
    });
    const at = this.now();
    if (outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300) {
      await this.webhooks.settle(delivery.id, {
        status: 'delivered',
        attempts,
        lastStatus: outcome.status,
        lastError: null,
        deliveredAt: at.toISOString(),
      });
      return;
    }
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempts);
    await this.webhooks.settle(delivery.id, {
      status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
      attempts,
      nextAttemptAt: new Date(at.getTime() + backoff).toISOString(),
      lastStatus: outcome.status ?? null,
      lastError: outcome.error ?? `HTTP ${outcome.status}`,
    });
  }

  private async onAudit(row: AuditRow): Promise<void> {
    const details = row.details ? (JSON.parse(row.details) as { severity?: string }) : {};
    if (details.severity !== 'warning' && details.severity !== 'critical') return;
    await this.publish(`security.${row.action}`, {
      severity: details.severity,
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      actorType: row.actorType,
      actorId: row.actorId,
      sourceIp: row.sourceIp,
      auditSeq: row.seq,
      at: row.at,
    });
  }

  private async require(name: string): Promise<WebhookRow> {
    const row = await this.webhooks.byName(name);
    if (!row) throw new SlipwayError('SLW_WEBHOOK_NOT_FOUND', `no webhook is named ${name.slice(0, 64)}`);
    return row;
  }
}

/** One POST with a deadline; the status, or why there is none. Redirects are not followed. */
function post(url: string, body: string, headers: Record<string, string>): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: DELIVERY_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err.message.slice(0, 200) }));
    req.end(body);
  });
}

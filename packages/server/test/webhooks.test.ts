import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MAX_ATTEMPTS, SIGNATURE_HEADER, signDelivery, TIMESTAMP_HEADER } from '../src/services/webhook.service.js';
import { ADMIN_PASSWORD, API, bearer, login, type TestApp, testApp } from './support/app.js';
import { DIALECTS, type TestDatabase } from './support/databases.js';
import { errorCode } from './support/device.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback that answers with the statuses it is given, in turn. */
async function receiver(statuses: () => number): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(statuses()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hook`, received, server };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const [name, make] of DIALECTS) {
  describe(`webhooks on ${name}`, () => {
    let target: TestDatabase | null;
    let t: TestApp;
    let admin: string;

    before(async () => {
      target = await make();
      if (!target) return;
      t = await testApp(target);
      admin = await login(t.app, 'admin', ADMIN_PASSWORD);
    });
    after(async () => {
      if (!target) return;
      await t.close();
      await target.cleanup();
    });

    const deliveries = async (hook: string) =>
      (await t.app.inject({ url: `${API}/webhooks/${hook}/deliveries`, headers: bearer(admin) })).json() as {
        status: string;
        attempts: number;
        eventType: string;
        lastStatus: number | null;
      }[];
    const securityEvent = async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: `${API}/tokens`,
        headers: bearer(admin),
        payload: { name: 'soon-revoked', role: 'viewer' },
      });
      const { id } = created.json() as { id: string };
      await t.app.inject({ method: 'DELETE', url: `${API}/tokens/${id}`, headers: bearer(admin) });
    };

    test('a security event is delivered signed, and a failed delivery is retried', async (ctx) => {
      if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      let calls = 0;
      const hook = await receiver(() => (++calls === 1 ? 500 : 204));
      try {
        const created = await t.app.inject({
          method: 'POST',
          url: `${API}/webhooks`,
          headers: bearer(admin),
          payload: { name: 'soc', url: hook.url, events: ['security.*'] },
        });
        assert.equal(created.statusCode, 201, created.body);
        const { secret } = created.json() as { secret: string };
        assert.equal(
          errorCode(
            await t.app.inject({
              method: 'POST',
              url: `${API}/webhooks`,
              headers: bearer(admin),
              payload: { name: 'soc', url: hook.url, events: ['*'] },
            }),
          ),
          'SLW_WEBHOOK_EXISTS',
        );
        await securityEvent();
        // The first attempt gets a 500; the next one, after the back-off, a 204.
        await until('the first attempt', async () => (hook.received.length >= 1 ? true : undefined));
        t.advance(5_000);
        const delivered = await until('delivery', async () => (await deliveries('soc')).find((d) => d.status === 'delivered'));
        assert.equal(delivered.attempts, 2);
        assert.equal(delivered.eventType, 'security.token.revoke');
        assert.equal(hook.received.length, 2);
        for (const r of hook.received) {
          const timestamp = r.headers[TIMESTAMP_HEADER] as string;
          assert.equal(r.headers[SIGNATURE_HEADER], signDelivery(secret, timestamp, r.body), 'the signature verifies with the secret');
          assert.notEqual(r.headers[SIGNATURE_HEADER], signDelivery('another secret', timestamp, r.body));
        }
        const event = JSON.parse(hook.received[1]?.body ?? '{}') as { type: string; data: { severity: string; action: string } };
        assert.equal(event.type, 'security.token.revoke');
        assert.equal(event.data.severity, 'warning');
      } finally {
        hook.server.close();
      }
    });

    test(`retries stop after ${MAX_ATTEMPTS} attempts, and the outcome stays visible`, async (ctx) => {
      if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      const hook = await receiver(() => 503);
      try {
        await t.app.inject({ method: 'DELETE', url: `${API}/webhooks/soc`, headers: bearer(admin) });
        await t.app.inject({
          method: 'POST',
          url: `${API}/webhooks`,
          headers: bearer(admin),
          payload: { name: 'down', url: hook.url, events: ['security.token.*'] },
        });
        await securityEvent();
        const failed = await until(
          'the last attempt',
          async () => {
            // Past the longest back-off of these attempts (2^8 s), but well inside the session's life.
            t.advance(5 * 60_000);
            return (await deliveries('down')).find((d) => d.status === 'failed');
          },
          60_000,
        );
        assert.equal(failed.attempts, MAX_ATTEMPTS);
        assert.equal(failed.lastStatus, 503);
        assert.equal(hook.received.length, MAX_ATTEMPTS);
      } finally {
        hook.server.close();
      }
    });

    test('a webhook URL must be plain http(s) without credentials', async (ctx) => {
      if (!target) return ctx.skip('PostgreSQL is not reachable here (CI=true makes this a failure)');
      admin = await login(t.app, 'admin', ADMIN_PASSWORD);
      for (const url of ['file:///etc/passwd', 'https://user:pw@example.com/x', 'not a url at all']) {
        const response = await t.app.inject({
          method: 'POST',
          url: `${API}/webhooks`,
          headers: bearer(admin),
          payload: { name: 'bad', url, events: ['*'] },
        });
        assert.equal(errorCode(response), 'SLW_WEBHOOK_INVALID', url);
      }
    });
  });
}

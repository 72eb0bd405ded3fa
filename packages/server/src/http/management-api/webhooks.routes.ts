import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { WebhookService } from '../../services/webhook.service.js';
import { contextOf } from './users.routes.js';

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' });
const EventPattern = Type.String({ pattern: '^[a-z][a-z0-9.-]{0,127}(\\.\\*)?$|^\\*$' });
const WebhookBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  createdAt: Type.String(),
});
const ByName = Type.Object({ name: Name }, { additionalProperties: false });

export async function webhookRoutes(app: FastifyInstance, { webhooks }: { webhooks: WebhookService }) {
  app.get('/webhooks', { config: { permission: 'webhooks.read' }, schema: { response: { 200: Type.Array(WebhookBody) } } }, async () =>
    webhooks.list(),
  );

  app.post(
    '/webhooks',
    {
      config: { permission: 'webhooks.write', audit: 'webhook.create' },
      schema: {
        body: Type.Object(
          {
            name: Name,
            url: Type.String({ minLength: 8, maxLength: 2048 }),
            events: Type.Array(EventPattern, { minItems: 1, maxItems: 64 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Intersect([WebhookBody, Type.Object({ secret: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const { name, url, events } = request.body as { name: string; url: string; events: string[] };
      return reply.status(201).send(await webhooks.create(contextOf(request), name, url, events));
    },
  );

  app.delete(
    '/webhooks/:name',
    { config: { permission: 'webhooks.write', audit: 'webhook.delete' }, schema: { params: ByName } },
    async (request, reply) => {
      await webhooks.delete(contextOf(request), (request.params as { name: string }).name);
      return reply.status(204).send();
    },
  );

  app.get(
    '/webhooks/:name/deliveries',
    {
      config: { permission: 'webhooks.read' },
      schema: {
        params: ByName,
        response: {
          200: Type.Array(
            Type.Object({
              id: Type.String(),
              eventType: Type.String(),
              status: Type.String(),
              attempts: Type.Integer(),
              lastStatus: Type.Union([Type.Integer(), Type.Null()]),
              lastError: Type.Union([Type.String(), Type.Null()]),
              createdAt: Type.String(),
              deliveredAt: Type.Union([Type.String(), Type.Null()]),
              nextAttemptAt: Type.String(),
            }),
          ),
        },
      },
    },
    async (request) => webhooks.deliveries((request.params as { name: string }).name),
  );
}

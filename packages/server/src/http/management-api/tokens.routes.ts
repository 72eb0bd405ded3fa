import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TokenService } from '../../services/token.service.js';
import { RoleName, TokenListing } from './schemas.js';
import { contextOf } from './users.routes.js';

export async function tokenRoutes(app: FastifyInstance, { tokens }: { tokens: TokenService }) {
  app.get('/tokens', { config: { permission: 'tokens.read' }, schema: { response: { 200: Type.Array(TokenListing) } } }, async () =>
    tokens.list(),
  );

  app.post(
    '/tokens',
    {
      config: { permission: 'tokens.write', audit: 'token.create' },
      schema: {
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 128 }),
            role: RoleName,
            expiresAt: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([TokenListing, Type.Object({ token: Type.String() })]) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await tokens.create(contextOf(request), request.body as { name: string; role: string; expiresAt?: string })),
  );

  app.delete(
    '/tokens/:id',
    {
      config: { permission: 'tokens.write', audit: 'token.revoke' },
      schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }) },
    },
    async (request, reply) => {
      await tokens.revoke(contextOf(request), (request.params as { id: string }).id);
      return reply.status(204).send();
    },
  );
}

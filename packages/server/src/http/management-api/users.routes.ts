import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext, UserService } from '../../services/user.service.js';
import { RoleName, UserBody, Username } from './schemas.js';

export function contextOf(request: FastifyRequest): RequestContext {
  // The auth hook ran first; a route reaching here without a principal is a wiring bug.
  if (!request.principal) throw new Error('no principal on an authenticated route');
  return { principal: request.principal, sourceIp: request.ip };
}

const ByName = Type.Object({ username: Username }, { additionalProperties: false });

export async function userRoutes(app: FastifyInstance, { users }: { users: UserService }) {
  app.get('/users', { config: { permission: 'users.read' }, schema: { response: { 200: Type.Array(UserBody) } } }, async () =>
    users.list(),
  );

  app.post(
    '/users',
    {
      config: { permission: 'users.write', audit: 'user.create' },
      schema: {
        body: Type.Object(
          { username: Username, password: Type.String({ minLength: 12, maxLength: 1024 }), role: RoleName },
          { additionalProperties: false },
        ),
        response: { 201: UserBody },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await users.create(contextOf(request), request.body as { username: string; password: string; role: string })),
  );

  app.put(
    '/users/:username/role',
    {
      config: { permission: 'users.write', audit: 'user.set-role' },
      schema: { params: ByName, body: Type.Object({ role: RoleName }, { additionalProperties: false }) },
    },
    async (request, reply) => {
      await users.setRole(contextOf(request), (request.params as { username: string }).username, (request.body as { role: string }).role);
      return reply.status(204).send();
    },
  );

  app.post(
    '/users/:username/disable',
    { config: { permission: 'users.write', audit: 'user.disable' }, schema: { params: ByName } },
    async (request, reply) => {
      await users.disable(contextOf(request), (request.params as { username: string }).username);
      return reply.status(204).send();
    },
  );
}

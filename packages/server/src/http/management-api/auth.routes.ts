import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { clearedCookies, sessionCookies } from '../../auth/cookies.js';
import { permissionsOf } from '../../auth/roles.js';
import { newSecret } from '../../auth/secrets.js';
import { type AuthService, SESSION_LIFETIME_MS } from '../../services/auth.service.js';
import { Username } from './schemas.js';

export async function authRoutes(app: FastifyInstance, { auth }: { auth: AuthService }) {
  app.post(
    '/auth/login',
    {
      config: { permission: 'public', audit: 'login' },
      schema: {
        security: [],
        body: Type.Object(
          { username: Username, password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ token: Type.String(), expiresAt: Type.String(), username: Type.String(), role: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body as { username: string; password: string };
      const { token, expiresAt, principal } = await auth.login(username, password, request.ip);
      void reply.header('set-cookie', sessionCookies(token, newSecret('s'), Math.floor(SESSION_LIFETIME_MS / 1000)));
      return { token, expiresAt, username: principal.name, role: principal.role };
    },
  );

  app.post('/auth/logout', { config: { permission: 'session.read', audit: 'logout' } }, async (request, reply) => {
    if (request.credential && request.principal) await auth.logout(request.credential, request.principal, request.ip);
    return reply.status(204).header('set-cookie', clearedCookies()).send();
  });

  app.get(
    '/auth/whoami',
    {
      config: { permission: 'session.read' },
      schema: {
        response: {
          200: Type.Object({ kind: Type.String(), name: Type.String(), role: Type.String(), permissions: Type.Array(Type.String()) }),
        },
      },
    },
    // The UI shows only what the caller may do; the server still checks every request.
    async (request) => ({
      kind: request.principal?.kind,
      name: request.principal?.name,
      role: request.principal?.role,
      permissions: permissionsOf(request.principal?.role ?? ''),
    }),
  );
}

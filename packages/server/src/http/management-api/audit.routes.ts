import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditFilter, AuditRepository } from '../../repositories/audit.repository.js';
import type { AuditLog } from '../../services/audit-log.service.js';

const MAX_PAGE = 1000;

const Entry = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  actorType: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  sourceIp: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  details: Type.Union([Type.String(), Type.Null()]),
  prevHash: Type.String(),
  hash: Type.String(),
});

export async function auditRoutes(app: FastifyInstance, { audit, entries }: { audit: AuditLog; entries: AuditRepository }) {
  const Verdict = Type.Union([
    Type.Object({ ok: Type.Literal(true), entries: Type.Integer(), headSeq: Type.Integer(), headHash: Type.String() }),
    Type.Object({ ok: Type.Literal(false), entries: Type.Integer(), firstBadSeq: Type.Integer(), reason: Type.String() }),
  ]);
  app.get('/audit/verify', { config: { permission: 'audit.read' }, schema: { response: { 200: Verdict } } }, async () => audit.verify());

  // Read-only and paged; there is no route that changes or deletes an entry. Oldest first, the
  // next page starts `after` the last seq; newest first (`order=desc`), it ends `before` it.
  app.get(
    '/audit/entries',
    {
      config: { permission: 'audit.read' },
      schema: {
        querystring: Type.Object(
          {
            after: Type.Optional(Type.Integer({ minimum: 0 })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })),
            order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
            action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })),
            actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            target: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            severity: Type.Optional(Type.Union([Type.Literal('warning'), Type.Literal('critical'), Type.Literal('any')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(Entry), next: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (request) => {
      const {
        limit = MAX_PAGE,
        action,
        actor,
        ...rest
      } = request.query as Omit<AuditFilter, 'actionPrefix' | 'actorId'> & {
        limit?: number;
        action?: string;
        actor?: string;
      };
      return entries.search({ ...rest, ...(action ? { actionPrefix: action } : {}), ...(actor ? { actorId: actor } : {}) }, limit);
    },
  );
}

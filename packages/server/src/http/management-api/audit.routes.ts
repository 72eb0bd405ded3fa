import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditRepository } from '../../repositories/audit.repository.js';
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

  // Read-only and paged; there is no route that changes or deletes an entry.
  app.get(
    '/audit/entries',
    {
      config: { permission: 'audit.read' },
      schema: {
        querystring: Type.Object(
          { after: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(Entry), next: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (request) => {
      const { after = 0, limit = MAX_PAGE } = request.query as { after?: number; limit?: number };
      const page = await entries.page(after, limit);
      return { entries: page, next: page.length === limit ? (page.at(-1)?.seq ?? null) : null };
    },
  );
}

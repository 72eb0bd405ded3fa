import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TrustRootService } from '../../services/trust-root.service.js';
import { contextOf } from './users.routes.js';

const RootSummary = Type.Object({
  version: Type.Integer(),
  expiresAt: Type.String(),
  rootKeys: Type.Array(Type.String()),
  rootThreshold: Type.Integer(),
  releaseKeys: Type.Array(Type.String()),
  releaseThreshold: Type.Integer(),
  uploadedAt: Type.String(),
  uploadedBy: Type.String(),
});
const ByVersion = Type.Object({ version: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false });
/** root.json is a DSSE envelope; its signatures cover the base64 payload, so the envelope is checked as parsed. */
const RootDocument = Type.Object(
  {
    payloadType: Type.String({ maxLength: 200 }),
    payload: Type.String({ maxLength: 700_000 }),
    signatures: Type.Array(
      Type.Object({ keyid: Type.String({ maxLength: 128 }), sig: Type.String({ maxLength: 2048 }) }, { additionalProperties: false }),
      {
        maxItems: 64,
      },
    ),
  },
  { additionalProperties: false },
);

export async function trustRoutes(app: FastifyInstance, { roots }: { roots: TrustRootService }) {
  app.get('/trust/roots', { config: { permission: 'trust.read' }, schema: { response: { 200: Type.Array(RootSummary) } } }, async () =>
    roots.list(),
  );

  app.post(
    '/trust/roots',
    { config: { permission: 'trust.write', audit: 'trust.root-upload' }, schema: { body: RootDocument, response: { 201: RootSummary } } },
    async (request, reply) => {
      const document = Buffer.from(`${JSON.stringify(request.body, null, 2)}\n`);
      return reply.status(201).send(await roots.upload(contextOf(request), document));
    },
  );

  app.get('/trust/roots/:version', { config: { permission: 'trust.read' }, schema: { params: ByVersion } }, async (request, reply) => {
    const document = await roots.document((request.params as { version: number }).version);
    return reply.type('application/json').send(document);
  });
}

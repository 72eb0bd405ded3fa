import { Type } from '@sinclair/typebox';
import { SlipwayError } from '@slipway/core';
import type { FastifyInstance } from 'fastify';
import type { ArtifactService } from '../../services/artifact.service.js';
import { contextOf } from './users.routes.js';

const ArtifactBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  securityVersion: Type.Integer(),
  payloadType: Type.String(),
  deviceTypes: Type.Array(Type.String()),
  payloads: Type.Array(
    Type.Object({
      name: Type.String(),
      compression: Type.String(),
      size: Type.Integer(),
      uncompressedSize: Type.Integer(),
      sha256: Type.String(),
    }),
  ),
  signed: Type.Boolean(),
  signedBy: Type.Array(Type.String()),
  rootVersion: Type.Union([Type.Integer(), Type.Null()]),
  size: Type.Integer(),
  sha256: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  uploadedAt: Type.String(),
  uploadedBy: Type.String(),
});
const ById = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export async function artifactRoutes(app: FastifyInstance, { artifacts }: { artifacts: ArtifactService }) {
  // The .slw file is the body, streamed to staging as it arrives: never parsed or held in memory here.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.post(
    '/artifacts',
    {
      config: { permission: 'artifacts.upload', audit: 'artifact.upload' },
      schema: { consumes: ['application/octet-stream'], response: { 201: ArtifactBody } },
    },
    async (request, reply) => {
      const body = request.body as NodeJS.ReadableStream | undefined;
      if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') {
        throw new SlipwayError('SLW_USAGE_INVALID_OPTION', 'send the .slw file as the body, content-type application/octet-stream');
      }
      return reply.status(201).send(await artifacts.upload(contextOf(request), body));
    },
  );

  app.get(
    '/artifacts',
    {
      config: { permission: 'artifacts.read' },
      schema: {
        querystring: Type.Object({ name: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false }),
        response: { 200: Type.Array(ArtifactBody) },
      },
    },
    async (request) => artifacts.list((request.query as { name?: string }).name),
  );

  app.get(
    '/artifacts/:id',
    { config: { permission: 'artifacts.read' }, schema: { params: ById, response: { 200: ArtifactBody } } },
    async (request) => artifacts.show((request.params as { id: string }).id),
  );

  app.delete(
    '/artifacts/:id',
    { config: { permission: 'artifacts.delete', audit: 'artifact.delete' }, schema: { params: ById } },
    async (request, reply) => {
      await artifacts.delete(contextOf(request), (request.params as { id: string }).id);
      return reply.status(204).send();
    },
  );
}

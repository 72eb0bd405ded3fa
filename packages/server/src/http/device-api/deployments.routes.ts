import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DeviceDeployments, StatusReport } from '../../services/device-deployments.js';
import { MAX_LOG_BYTES } from '../../services/device-deployments.js';
import { DEVICE_DEPLOYMENT_STATUSES } from '../management-api/deployments.routes.js';
import { Nullable } from '../management-api/schemas.js';

const ById = Type.Object({ id: Type.String({ minLength: 36, maxLength: 36, pattern: '^[0-9a-f-]+$' }) }, { additionalProperties: false });
const OfferBody = Type.Object({
  id: Type.String(),
  attempt: Type.Integer(),
  status: Type.String(),
  artifact: Type.Object({
    id: Type.String(),
    name: Type.String(),
    version: Type.String(),
    securityVersion: Type.Integer(),
    payloadType: Type.String(),
    deviceTypes: Type.Array(Type.String()),
    size: Type.Integer(),
    sha256: Type.String(),
  }),
  download: Type.Object({ url: Type.String(), expiresAt: Type.String() }),
  install: Type.Object({ allowed: Type.Boolean(), windowOpensAt: Nullable(Type.String()), windowClosesAt: Nullable(Type.String()) }),
});
const ReportBody = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1, maximum: 1000 }),
    status: Type.Union(DEVICE_DEPLOYMENT_STATUSES.filter((s) => s !== 'pending' && s !== 'aborted').map((s) => Type.Literal(s))),
    progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    message: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

/**
 * Deployments as a device sees them: ask for work, report each step, upload the log of a failure.
 * `downloadsAt` is the path download links are handed out under.
 */
export async function deviceDeploymentRoutes(app: FastifyInstance, options: { deployments: DeviceDeployments; downloadsAt: string }) {
  const { deployments, downloadsAt } = options;
  // Logs are plain text, bigger than the JSON documents devices otherwise send.
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: MAX_LOG_BYTES }, (_request, body, done) => done(null, body));

  // Polled by every device: quiet in the log like the check-in. 204 when there is nothing to do.
  app.get(
    '/deployments/next',
    { config: { quietLog: true }, schema: { response: { 200: OfferBody, 204: Type.Null() } } },
    async (request, reply) => {
      const offer = await deployments.next(request.deviceId as string, (token) => `${downloadsAt}/${token}`);
      return offer ? offer : reply.status(204).send();
    },
  );

  app.put(
    '/deployments/:id/status',
    {
      schema: {
        params: ById,
        body: ReportBody,
        response: { 200: Type.Object({ status: Type.String(), attempt: Type.Integer(), proceed: Type.Boolean() }) },
      },
    },
    async (request) => deployments.report(request.deviceId as string, (request.params as { id: string }).id, request.body as StatusReport),
  );

  app.put(
    '/deployments/:id/logs',
    {
      schema: {
        params: ById,
        querystring: Type.Object({ attempt: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false }),
        consumes: ['text/plain'],
      },
    },
    async (request, reply) => {
      const body = typeof request.body === 'string' ? request.body : '';
      await deployments.saveLog(
        request.deviceId as string,
        (request.params as { id: string }).id,
        (request.query as { attempt: number }).attempt,
        body,
      );
      return reply.status(204).send();
    },
  );
}

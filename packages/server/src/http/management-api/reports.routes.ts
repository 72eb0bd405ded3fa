import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ReportService } from '../../services/report.service.js';
import { DeviceTally, Nullable } from './schemas.js';

export async function reportRoutes(app: FastifyInstance, { reports }: { reports: ReportService }) {
  app.get(
    '/reports/versions',
    {
      config: { permission: 'reports.read' },
      schema: {
        response: {
          200: Type.Array(
            Type.Object({
              deviceType: Nullable(Type.String()),
              devices: Type.Integer(),
              versions: Type.Array(
                Type.Object({
                  artifact: Nullable(Type.String()),
                  version: Nullable(Type.String()),
                  devices: Type.Integer(),
                  percent: Type.Number(),
                }),
              ),
            }),
          ),
        },
      },
    },
    async () => reports.versions(),
  );

  app.get(
    '/reports/deployments',
    {
      config: { permission: 'reports.read' },
      schema: {
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }, { additionalProperties: false }),
        response: {
          200: Type.Array(
            Type.Object({
              id: Type.String(),
              artifact: Type.String(),
              status: Type.String(),
              createdAt: Type.String(),
              devices: DeviceTally,
              successRate: Type.Union([Type.Number(), Type.Null()]),
              phases: Type.Array(
                Type.Object({
                  phase: Type.Integer(),
                  spec: Type.String(),
                  size: Type.Integer(),
                  succeeded: Type.Integer(),
                  failed: Type.Integer(),
                  successRate: Type.Union([Type.Number(), Type.Null()]),
                }),
              ),
            }),
          ),
        },
      },
    },
    async (request) => reports.deploymentRates((request.query as { limit: number }).limit),
  );

  app.get(
    '/reports/silent-devices',
    {
      config: { permission: 'reports.read' },
      schema: {
        querystring: Type.Object(
          { hours: Type.Number({ minimum: 0.01, maximum: 24 * 3650, default: 24 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            hours: Type.Number(),
            since: Type.String(),
            total: Type.Integer(),
            devices: Type.Array(
              Type.Object({
                id: Type.String(),
                identity: Type.Record(Type.String(), Type.String()),
                deviceType: Nullable(Type.String()),
                lastSeenAt: Nullable(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async (request) => reports.silentDevices((request.query as { hours: number }).hours),
  );
}

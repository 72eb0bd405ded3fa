import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DeploymentStatus, DeviceDeploymentStatus } from '../../db/schema.js';
import { type DeploymentRequest, type DeploymentService, MAX_ATTEMPTS_LIMIT } from '../../services/deployment.service.js';
import { DeviceTally, Nullable } from './schemas.js';
import { contextOf } from './users.routes.js';

const DEPLOYMENT_STATUSES = ['active', 'paused', 'halted', 'aborted', 'succeeded', 'failed'] as const;
export const DEVICE_DEPLOYMENT_STATUSES = [
  'pending',
  'downloading',
  'installing',
  'rebooting',
  'committing',
  'success',
  'failure',
  'rolled-back',
  'already-installed',
  'aborted',
] as const;

export const DeploymentBody = Type.Object({
  id: Type.String(),
  artifact: Type.Object({ id: Type.String(), name: Type.String(), version: Type.String() }),
  target: Type.String(),
  status: Type.String(),
  statusReason: Nullable(Type.String()),
  currentPhase: Type.Integer(),
  phaseCount: Type.Integer(),
  successThreshold: Type.Number(),
  maxFailures: Type.String(),
  maxAttempts: Type.Integer(),
  window: Nullable(Type.String()),
  approval: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  devices: DeviceTally,
  phases: Type.Array(
    Type.Object({
      phase: Type.Integer(),
      spec: Type.String(),
      size: Type.Integer(),
      startAt: Nullable(Type.String()),
      startedAt: Nullable(Type.String()),
      completedAt: Nullable(Type.String()),
      successesNeeded: Type.Integer(),
      failuresThatHalt: Type.Integer(),
      devices: DeviceTally,
      successRate: Type.Union([Type.Number(), Type.Null()]),
    }),
  ),
});
const CreatedBody = Type.Intersect([
  DeploymentBody,
  Type.Object({ excluded: Type.Object({ incompatible: Type.Integer(), notAccepted: Type.Integer() }) }),
]);
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const CreateBody = Type.Object(
  {
    artifact: Text(300),
    group: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' })),
    devices: Type.Optional(Type.Array(Text(64), { minItems: 1, maxItems: 100_000 })),
    phases: Type.Optional(Type.Array(Text(100), { minItems: 1, maxItems: 20 })),
    successThreshold: Type.Optional(Text(16)),
    maxFailures: Type.Optional(Text(16)),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ATTEMPTS_LIMIT })),
    window: Type.Optional(Text(200)),
    approval: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('manual')])),
  },
  { additionalProperties: false },
);
const ById = Type.Object({ id: Type.String({ minLength: 8, maxLength: 64, pattern: '^[0-9a-f-]+$' }) }, { additionalProperties: false });
const Page = {
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  perPage: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
};
const DeviceRowBody = Type.Object({
  deviceId: Type.String(),
  phase: Type.Integer(),
  status: Type.String(),
  attempt: Type.Integer(),
  progress: Type.Union([Type.Integer(), Type.Null()]),
  message: Nullable(Type.String()),
  updatedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
});

export async function deploymentRoutes(app: FastifyInstance, { deployments }: { deployments: DeploymentService }) {
  app.post(
    '/deployments',
    {
      config: { permission: 'deployments.write', audit: 'deployment.create' },
      schema: { body: CreateBody, response: { 201: CreatedBody } },
    },
    async (request, reply) => reply.status(201).send(await deployments.create(contextOf(request), request.body as DeploymentRequest)),
  );

  app.get(
    '/deployments',
    {
      config: { permission: 'deployments.read' },
      schema: {
        querystring: Type.Object(
          { status: Type.Optional(Type.Union(DEPLOYMENT_STATUSES.map((s) => Type.Literal(s)))), ...Page },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(DeploymentBody) },
      },
    },
    async (request) => {
      const { status, page, perPage } = request.query as { status?: DeploymentStatus; page: number; perPage: number };
      return deployments.list(status, page, perPage);
    },
  );

  app.get(
    '/deployments/:id',
    { config: { permission: 'deployments.read' }, schema: { params: ById, response: { 200: DeploymentBody } } },
    async (request) => deployments.show((request.params as { id: string }).id),
  );

  app.get(
    '/deployments/:id/devices',
    {
      config: { permission: 'deployments.read' },
      schema: {
        params: ById,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union(DEVICE_DEPLOYMENT_STATUSES.map((s) => Type.Literal(s)))),
            phase: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
            ...Page,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ devices: Type.Array(DeviceRowBody), total: Type.Integer() }) },
      },
    },
    async (request) => {
      const { status, phase, page, perPage } = request.query as {
        status?: DeviceDeploymentStatus;
        phase?: number;
        page: number;
        perPage: number;
      };
      return deployments.devicesOf((request.params as { id: string }).id, { status, phase }, page, perPage);
    },
  );

  app.get(
    '/deployments/:id/devices/:deviceId/logs',
    {
      config: { permission: 'deployments.read' },
      schema: {
        params: Type.Object(
          { id: ById.properties.id, deviceId: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(Type.Object({ attempt: Type.Integer(), receivedAt: Type.String(), log: Type.String() })) },
      },
    },
    async (request) => {
      const { id, deviceId } = request.params as { id: string; deviceId: string };
      return deployments.logs(id, deviceId);
    },
  );

  for (const action of ['pause', 'resume', 'advance', 'abort'] as const) {
    app.post(
      `/deployments/:id/${action}`,
      {
        config: { permission: 'deployments.write', audit: `deployment.${action}` },
        schema: { params: ById, response: { 200: DeploymentBody } },
      },
      async (request) => deployments[action](contextOf(request), (request.params as { id: string }).id),
    );
  }
}

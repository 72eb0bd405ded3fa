import { type Static, Type } from '@sinclair/typebox';
import { SlipwayError } from '@slipway/core';
import type { FastifyInstance } from 'fastify';
import type { DeploymentService } from '../../services/deployment.service.js';
import {
  type AdmissionDecision,
  type DeviceService,
  PREAUTHORIZE_MAX_ENTRIES,
  type PreauthorizationEntry,
} from '../../services/device.service.js';
import { contextOf } from './users.routes.js';

export const DeviceStatusName = Type.Union(
  ['pending', 'accepted', 'rejected', 'decommissioned', 'preauthorized'].map((s) => Type.Literal(s)),
);
export const DeviceSummary = Type.Object({
  id: Type.String(),
  status: Type.String(),
  statusBy: Type.String(),
  identity: Type.Record(Type.String(), Type.String()),
  deviceType: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  lastAuthAt: Type.Union([Type.String(), Type.Null()]),
  inventoryAt: Type.Union([Type.String(), Type.Null()]),
});
const DeviceDetails = Type.Intersect([
  DeviceSummary,
  Type.Object({
    inventory: Type.Record(Type.String(), Type.String()),
    keys: Type.Array(Type.Object({ keyId: Type.String(), state: Type.String(), createdAt: Type.String() })),
    authHistory: Type.Array(
      Type.Object({
        at: Type.String(),
        sourceIp: Type.Union([Type.String(), Type.Null()]),
        keyId: Type.Union([Type.String(), Type.Null()]),
        outcome: Type.String(),
        reason: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  }),
]);
const ById = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
/** Filters: `status`, and `attr.NAME=VALUE` for any identity or inventory attribute (all must match). */
export const ListQuery = Type.Object(
  {
    status: Type.Optional(DeviceStatusName),
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    perPage: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: Type.String({ maxLength: 1024 }) },
);
const PreauthorizeBody = Type.Object(
  {
    devices: Type.Array(
      Type.Object(
        {
          identity: Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }), { maxProperties: 16 }),
          publicKey: Type.String({ minLength: 1, maxLength: 4096 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: PREAUTHORIZE_MAX_ENTRIES },
    ),
  },
  { additionalProperties: false },
);

const DeviceHistory = Type.Object({
  deployments: Type.Array(
    Type.Object({
      deploymentId: Type.String(),
      artifact: Type.Object({ name: Type.String(), version: Type.String() }),
      deploymentStatus: Type.String(),
      phase: Type.Integer(),
      status: Type.String(),
      attempt: Type.Integer(),
      progress: Type.Union([Type.Integer(), Type.Null()]),
      message: Type.Union([Type.String(), Type.Null()]),
      updatedAt: Type.String(),
      finishedAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export const ATTRIBUTE_FILTER = /^attr\.([a-z][a-z0-9_.-]{0,63})$/;

export async function deviceRoutes(
  app: FastifyInstance,
  { devices, deployments }: { devices: DeviceService; deployments: DeploymentService },
) {
  app.get(
    '/devices',
    {
      config: { permission: 'devices.read' },
      schema: {
        querystring: ListQuery,
        response: {
          200: Type.Object({ devices: Type.Array(DeviceSummary), total: Type.Integer(), page: Type.Integer(), perPage: Type.Integer() }),
        },
      },
    },
    async (request) => {
      const { status, page, perPage, ...rest } = request.query as Static<typeof ListQuery> & Record<string, string>;
      const attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(rest)) {
        const attribute = ATTRIBUTE_FILTER.exec(name)?.[1];
        if (!attribute)
          throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `unknown filter ${name.slice(0, 80)}: use status, page, perPage or attr.NAME`);
        attributes[attribute] = value;
      }
      const found = await devices.list({ ...(status ? { status: status as never } : {}), attributes }, page, perPage);
      return { ...found, page, perPage };
    },
  );

  app.get(
    '/devices/:id',
    { config: { permission: 'devices.read' }, schema: { params: ById, response: { 200: DeviceDetails } } },
    async (request) => devices.show((request.params as { id: string }).id),
  );

  app.get(
    '/devices/:id/deployments',
    {
      config: { permission: 'devices.read' },
      schema: {
        params: ById,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }, { additionalProperties: false }),
        response: { 200: DeviceHistory },
      },
    },
    async (request) => deployments.historyOf((request.params as { id: string }).id, (request.query as { limit: number }).limit),
  );

  for (const decision of ['accept', 'reject', 'decommission'] as const satisfies readonly AdmissionDecision[]) {
    app.post(
      `/devices/:id/${decision}`,
      { config: { permission: 'devices.admit', audit: `device.${decision}` }, schema: { params: ById, response: { 200: DeviceSummary } } },
      async (request) => devices.decide(contextOf(request), (request.params as { id: string }).id, decision),
    );
  }

  app.post(
    '/devices/preauthorize',
    {
      config: { permission: 'devices.admit', audit: 'device.preauthorize' },
      // A manifest of a large production batch: up to 100,000 entries of a few hundred bytes each.
      bodyLimit: 64 * 1024 * 1024,
      schema: { body: PreauthorizeBody, response: { 200: Type.Object({ imported: Type.Integer(), unchanged: Type.Integer() }) } },
    },
    async (request) => devices.preauthorize(contextOf(request), (request.body as { devices: PreauthorizationEntry[] }).devices),
  );
}

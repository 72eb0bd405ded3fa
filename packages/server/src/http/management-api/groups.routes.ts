import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type GroupFilter, type GroupService, MAX_MEMBERS_PER_CHANGE } from '../../services/group.service.js';
import { DeviceStatusName, DeviceSummary } from './devices.routes.js';
import { contextOf } from './users.routes.js';

const GroupName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' });
const Filter = Type.Object(
  {
    status: Type.Optional(DeviceStatusName),
    attributes: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$' }), Type.String({ maxLength: 1024 }), { maxProperties: 32 }),
    ),
  },
  { additionalProperties: false },
);
const GroupBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  filter: Type.Union([Filter, Type.Null()]),
  members: Type.Integer(),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
const ByName = Type.Object({ name: GroupName }, { additionalProperties: false });
const Members = Type.Object(
  { deviceIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: MAX_MEMBERS_PER_CHANGE }) },
  { additionalProperties: false },
);
const Page = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    perPage: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export async function groupRoutes(app: FastifyInstance, { groups }: { groups: GroupService }) {
  app.get('/groups', { config: { permission: 'groups.read' }, schema: { response: { 200: Type.Array(GroupBody) } } }, async () =>
    groups.list(),
  );

  app.post(
    '/groups',
    {
      config: { permission: 'groups.write', audit: 'group.create' },
      schema: {
        body: Type.Object({ name: GroupName, filter: Type.Optional(Filter) }, { additionalProperties: false }),
        response: { 201: GroupBody },
      },
    },
    async (request, reply) => {
      const { name, filter } = request.body as { name: string; filter?: GroupFilter };
      return reply.status(201).send(await groups.create(contextOf(request), name, filter));
    },
  );

  app.get(
    '/groups/:name/devices',
    {
      config: { permission: 'groups.read' },
      schema: {
        params: ByName,
        querystring: Page,
        response: {
          200: Type.Object({ devices: Type.Array(DeviceSummary), total: Type.Integer(), page: Type.Integer(), perPage: Type.Integer() }),
        },
      },
    },
    async (request) => {
      const { page, perPage } = request.query as { page: number; perPage: number };
      return { ...(await groups.members((request.params as { name: string }).name, page, perPage)), page, perPage };
    },
  );

  for (const change of ['add', 'remove'] as const) {
    app.post(
      `/groups/:name/${change}`,
      {
        config: { permission: 'groups.write', audit: `group.${change}` },
        schema: { params: ByName, body: Members, response: { 200: Type.Object({ changed: Type.Integer() }) } },
      },
      async (request) =>
        groups.change(
          contextOf(request),
          (request.params as { name: string }).name,
          change,
          (request.body as { deviceIds: string[] }).deviceIds,
        ),
    );
  }

  app.delete(
    '/groups/:name',
    { config: { permission: 'groups.write', audit: 'group.delete' }, schema: { params: ByName } },
    async (request, reply) => {
      await groups.delete(contextOf(request), (request.params as { name: string }).name);
      return reply.status(204).send();
    },
  );
}

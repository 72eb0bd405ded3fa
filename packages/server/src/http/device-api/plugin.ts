import { Type } from '@sinclair/typebox';
import {
  DEVICE_NEW_KEY_SIGNATURE_HEADER,
  DEVICE_SIGNATURE_HEADER,
  type DeviceAuthRequest,
  type DeviceKeyRotationRequest,
  SlipwayError,
} from '@slipway/core';
import type { FastifyInstance } from 'fastify';
import type { CurrentDevice, DeviceRepository } from '../../repositories/device.repository.js';
import type { ArtifactService } from '../../services/artifact.service.js';
import type { DeviceService } from '../../services/device.service.js';
import type { DeviceAuthService } from '../../services/device-auth.service.js';
import { rateLimited } from '../../services/device-auth.service.js';
import type { DeviceDeployments } from '../../services/device-deployments.js';
import type { DevicePresence } from '../../services/device-presence.js';
import type { DeviceTokens } from '../../services/device-token.js';
import type { DownloadUrls } from '../../services/download-urls.js';
import type { TrustRootService } from '../../services/trust-root.service.js';
import { clientCertificate, type MtlsMode } from './client-certificate.js';
import { deviceDeploymentRoutes } from './deployments.routes.js';
import { deviceHook } from './device-hook.js';
import { parseRange } from './range.js';
import { DeviceAuthBody, DeviceSessionBody, InventoryBody, KeyRotationBody, OwnDeviceBody } from './schemas.js';

export const DEVICE_PREFIX = '/api/devices/v1';
/** Device requests are small JSON documents; anything bigger is refused before it is parsed. */
const DEVICE_BODY_LIMIT = 64 * 1024;

export interface DeviceApiServices {
  readonly auth: DeviceAuthService;
  readonly tokens: DeviceTokens;
  readonly devices: DeviceRepository;
  readonly service: DeviceService;
  readonly now: () => Date;
  readonly mtls: MtlsMode;
  readonly trustRoots: TrustRootService;
  readonly downloads: { readonly urls: DownloadUrls; readonly artifacts: ArtifactService };
  readonly deployments: DeviceDeployments;
  readonly presence: DevicePresence;
}

/** The device API: authentication by signed request, then device tokens on every other route. */
export async function deviceApi(app: FastifyInstance, services: DeviceApiServices) {
  // The signature covers the exact bytes sent, so the raw body is kept beside the parsed one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: DEVICE_BODY_LIMIT }, (request, body, done) => {
    request.rawBody = body as Buffer;
    parseJson(request, (body as Buffer).toString('utf8'), done);
  });
  app.addHook('onRequest', async (request) => {
    request.clientCertificate = clientCertificate(request, services.mtls);
  });
  app.addHook(
    'onRequest',
    deviceHook(services.tokens, services.devices, services.now, (id) => services.presence.seen(id)),
  );
  app.addHook('onClose', async () => services.presence.flush());

  app.post(
    '/auth',
    {
      config: { deviceAuth: 'none' },
      schema: { body: DeviceAuthBody, response: { 200: DeviceSessionBody } },
      // An address over its failure budget is turned away before its body is even read.
      onRequest: async (request) => {
        const wait = services.auth.blockedForMs(request.ip);
        if (wait > 0) throw rateLimited(wait);
      },
    },
    async (request) => {
      const signature = request.headers[DEVICE_SIGNATURE_HEADER];
      if (!request.rawBody) throw new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'the request has no JSON body');
      return services.auth.authenticate(
        request.rawBody,
        request.body as DeviceAuthRequest,
        typeof signature === 'string' ? signature : undefined,
        request.ip,
        request.clientCertificate,
      );
    },
  );

  app.post('/keys', { schema: { body: KeyRotationBody, response: { 200: Type.Object({ keyId: Type.String() }) } } }, async (request) => {
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    if (!request.rawBody) throw new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'the request has no JSON body');
    return services.auth.proposeKey(
      request.deviceId as string,
      request.rawBody,
      request.body as DeviceKeyRotationRequest,
      { current: header(DEVICE_SIGNATURE_HEADER), proposed: header(DEVICE_NEW_KEY_SIGNATURE_HEADER) },
      request.ip,
    );
  });

  // The check-in a device makes most often: answered from the record the hook read, no second query.
  // Quiet: check-ins would be most of the log. Server errors are still logged; metrics count every answer.
  app.get('/device', { config: { quietLog: true }, schema: { response: { 200: OwnDeviceBody } } }, async (request) => {
    const device = request.device as CurrentDevice;
    return { id: device.id, status: device.status, identity: JSON.parse(device.identity), inventoryAt: device.inventoryAt };
  });

  // Devices walk a rotation chain one version at a time (N -> N+1), verifying each step themselves.
  app.get(
    '/trust/roots/:version',
    { schema: { params: Type.Object({ version: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false }) } },
    async (request, reply) =>
      reply.type('application/json').send(await services.trustRoots.document((request.params as { version: number }).version)),
  );

  // The artifact a deployment offers, by a short-lived link issued to this device; HTTP Range lets
  // a device resume after a dropped link or a reboot. Quiet: a fleet downloading would fill the log.
  app.get(
    '/downloads/:token',
    {
      config: { quietLog: true },
      schema: { params: Type.Object({ token: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }) },
    },
    async (request, reply) => {
      const grant = services.downloads.urls.check((request.params as { token: string }).token, request.deviceId as string, services.now());
      // An aborted deployment stops its downloads at once, even mid-file.
      if (grant.deploymentId) await services.deployments.downloadAllowed(grant.deploymentId, request.deviceId as string);
      const file = await services.downloads.artifacts.file(grant.artifactId);
      const etag = `"${file.sha256}"`;
      void reply.header('accept-ranges', 'bytes').header('etag', etag);
      // A resumed download must continue the same bytes: If-Range with another ETag gets the whole file.
      const ifRange = request.headers['if-range'];
      const range = ifRange !== undefined && ifRange !== etag ? null : parseRange(request.headers.range, file.size);
      if (range === 'unsatisfiable') {
        return reply
          .status(416)
          .type('application/json')
          .header('content-range', `bytes */${file.size}`)
          .send({
            error: { code: 'SLW_USAGE_INVALID_OPTION', message: `the range is outside the ${file.size}-byte artifact` },
          });
      }
      void reply.type('application/vnd.slipway.artifact');
      if (range === null) return reply.header('content-length', file.size).send(file.read());
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
        .header('content-length', range.end - range.start + 1)
        .send(file.read(range));
    },
  );

  await app.register(deviceDeploymentRoutes, { deployments: services.deployments, downloadsAt: `${DEVICE_PREFIX}/downloads` });

  app.put('/inventory', { schema: { body: InventoryBody } }, async (request, reply) => {
    await services.service.reportInventory(request.deviceId as string, (request.body as { attributes: Record<string, string> }).attributes);
    return reply.status(204).send();
  });
}

import { SlipwayError } from '@slipway/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CurrentDevice, DeviceRepository } from '../../repositories/device.repository.js';
import type { DeviceTokens } from '../../services/device-token.js';
import type { ClientCertificate } from './client-certificate.js';

const BEARER = /^Bearer ([A-Za-z0-9_.-]{20,4096})$/;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'none' for the one device route that needs no device token: authentication itself. */
    deviceAuth?: 'none';
  }
  interface FastifyRequest {
    /** The authenticated device (device API only). */
    deviceId?: string;
    /** Its record as read while authenticating the request. */
    device?: CurrentDevice;
    /** The exact body bytes, for signature checks (device API only). */
    rawBody?: Buffer;
    /** The verified TLS client certificate of a device request, under mutual TLS. */
    clientCertificate?: ClientCertificate;
  }
}

/**
 * Every device route but authentication needs a valid device token whose device is accepted
 * right now: decommissioning or rejecting a device locks it out on its very next request.
 */
export function deviceHook(tokens: DeviceTokens, devices: DeviceRepository, now: () => Date, seen: (deviceId: string) => void = () => {}) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (request.routeOptions.config.deviceAuth === 'none') return;
    const bearer = BEARER.exec(request.headers.authorization ?? '');
    if (!bearer) throw new SlipwayError('SLW_DEVICE_TOKEN_INVALID', 'a device token is required; authenticate first');
    const { deviceId, certificateThumbprint } = await tokens.verify(bearer[1] as string, now());
    if (certificateThumbprint !== undefined && request.clientCertificate?.thumbprint !== certificateThumbprint) {
      throw new SlipwayError(
        'SLW_DEVICE_CERTIFICATE_INVALID',
        'this device token is bound to a client certificate the request does not present',
      );
    }
    const device = await devices.current(deviceId);
    if (device?.status !== 'accepted') {
      throw new SlipwayError('SLW_DEVICE_TOKEN_INVALID', 'this device is not accepted (any more); authenticate again');
    }
    request.deviceId = deviceId;
    request.device = device;
    seen(deviceId);
  };
}

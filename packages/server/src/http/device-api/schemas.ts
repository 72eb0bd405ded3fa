import { Type } from '@sinclair/typebox';

export const INVENTORY_MAX_ATTRIBUTES = 128;
export const INVENTORY_VALUE_MAX_LENGTH = 1024;

export const DeviceAuthBody = Type.Object(
  {
    identity: Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }), { maxProperties: 16 }),
    publicKey: Type.String({ minLength: 1, maxLength: 4096 }),
    timestamp: Type.String({ minLength: 1, maxLength: 40 }),
    nonce: Type.String({ pattern: '^[A-Za-z0-9_-]{22,128}$' }),
    certificate: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
  },
  { additionalProperties: false },
);

export const DeviceSessionBody = Type.Object({ deviceId: Type.String(), token: Type.String(), expiresAt: Type.String() });

/**
 * A flat map of attribute → string. Well-known names: device_type, artifact_name,
 * artifact_version, security_version, os, kernel, hostname, ipv4, ipv6, mac; anything else is the
 * integrator's own.
 */
export const InventoryBody = Type.Object(
  {
    attributes: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$' }), Type.String({ maxLength: INVENTORY_VALUE_MAX_LENGTH }), {
      maxProperties: INVENTORY_MAX_ATTRIBUTES,
    }),
  },
  { additionalProperties: false },
);

export const OwnDeviceBody = Type.Object({
  id: Type.String(),
  status: Type.String(),
  identity: Type.Record(Type.String(), Type.String()),
  inventoryAt: Type.Union([Type.String(), Type.Null()]),
});

export const KeyRotationBody = Type.Object(
  {
    newPublicKey: Type.String({ minLength: 1, maxLength: 4096 }),
    timestamp: Type.String({ minLength: 1, maxLength: 40 }),
    nonce: Type.String({ pattern: '^[A-Za-z0-9_-]{22,128}$' }),
  },
  { additionalProperties: false },
);

import { type TSchema, Type } from '@sinclair/typebox';

export const Username = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' });
export const RoleName = Type.String({ minLength: 1, maxLength: 32 });
export const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });
export const UserBody = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.String(),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const TokenListing = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
});

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Where a deployment's (or a phase's) devices stand. */
export const DeviceTally = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  inProgress: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  aborted: Type.Integer(),
});
